//! Public debug links: issuing, revoking and opening them.
//!
//! Lifecycle: the owner's `GET /v1/calls/:id/debug-link` issues a token (or returns the
//! live one); `POST …/debug-link/revoke` kills it at once, and the next GET issues a new
//! one. An optional expiry (`expires_in`, 60 s to 90 days) and whether the public view
//! carries the recording (`include_recording`, default false: `recording`) are fixed at
//! issue; an expired link answers like an unknown one, and the next GET replaces it.
//!
//! The public endpoint's rules live here too (`DebugLinks::open_public`): a client over
//! its miss limit is refused before any lookup, a miss counts against the client, and a
//! view is counted off the hot path by the `ViewRecorder`.

pub mod limiter;
pub mod recorder;
pub mod recording;
pub mod shared_misses;
pub mod stream;
pub mod token;
pub mod view;
pub mod view_cache;

use axum::body::Bytes;
use callscope_shared::{CallId, DebugLink, PublicDebugView};

pub use limiter::MissLimiter;
pub use recorder::ViewRecorder;
pub use recording::RecordingAccess;
pub use shared_misses::SharedMisses;
pub use stream::{LiveViews, StreamLimits};
pub use token::DebugToken;
pub use view_cache::{CachedView, ViewCache};

use crate::client_ip::ClientKey;
use crate::clock::UnixTime;
use crate::ids::{AccountId, LinkId};
use crate::live::LiveStore;
use crate::secrets::CryptoError;
use crate::storage::{DebugLogState, LinkRecord, LinkTarget, Store, StoreError};

/// Why a debug-link operation did not succeed. `error.rs` maps it to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum DebugLinkError {
    /// The call is missing or belongs to another account.
    #[error("no such call")]
    CallNotFound,
    /// The call has no debug log to show.
    #[error("the call has no debug log")]
    NotAvailable,
    /// Unknown, malformed, revoked or expired token: all the same to the caller.
    #[error("no such debug link")]
    LinkNotFound,
    /// The client used up its misses; it may try again after `retry_after` seconds.
    #[error("too many misses from this client")]
    TooManyMisses { retry_after: u64 },
    /// The instance, or this client, has as many live streams open as allowed.
    #[error("too many live streams open")]
    TooManyStreams,
    /// The link just written cannot be opened under this server's key.
    #[error("a debug link just issued cannot be decrypted with this server's key")]
    Unsealable,
    #[error("making a debug-link token: {0}")]
    Crypto(#[from] CryptoError),
    #[error("debug-link storage: {0}")]
    Store(#[from] StoreError),
}

/// Longest expiry an owner may ask for: 90 days.
pub const MAX_EXPIRES_IN: i64 = 90 * 86_400;
/// Shortest expiry: one minute.
pub const MIN_EXPIRES_IN: i64 = 60;

/// The public path of a token.
pub fn public_path(token: &DebugToken) -> String {
    callscope_shared::link::debug_path(token.as_str())
}

fn owner_view(token: &DebugToken, link: &LinkRecord) -> DebugLink {
    DebugLink {
        debug_token: token.as_str().to_owned(),
        url: public_path(token),
        created_at: link.created_at.timestamp(),
        expires_at: link.expires_at.and_then(UnixTime::timestamp),
        include_recording: link.include_recording,
        view_count: link.view_count.max(0) as u64,
        last_viewed_at: link.last_viewed_at.and_then(UnixTime::timestamp),
    }
}

/// What an issued link is fixed with. An existing link keeps what it was issued with,
/// whatever a later request asks for (revoke it to change it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssueOptions {
    /// Seconds until the link expires; `None`: it does not.
    pub expires_in: Option<i64>,
    /// Whether the public view carries the call's recording.
    pub include_recording: bool,
}

/// Returns the call's live link, issuing one if it has none (or only an expired one).
pub async fn issue(
    store: &Store,
    key: &[u8; 32],
    account_id: AccountId,
    call_id: CallId,
    options: IssueOptions,
    now: UnixTime,
) -> Result<DebugLink, DebugLinkError> {
    match store.debug_log_state(account_id, call_id).await? {
        DebugLogState::NoSuchCall => return Err(DebugLinkError::CallNotFound),
        DebugLogState::NotAvailable => return Err(DebugLinkError::NotAvailable),
        DebugLogState::Available => {}
    }
    if let Some(link) = store.live_debug_link(call_id).await? {
        let expired = link.expires_at.is_some_and(|at| at <= now);
        match DebugToken::decrypt(&link.token_enc, key) {
            Some(token) if !expired => return Ok(owner_view(&token, &link)),
            Some(_) => {}
            // Sealed under another server key: it can never be shown again, so replace it.
            None => {
                tracing::warn!(%call_id, "debug link sealed under another server key; reissuing")
            }
        }
        store.revoke_debug_link(call_id, now).await?;
    }
    let token = DebugToken::try_generate()?;
    let expires_at = options.expires_in.map(|secs| now.plus(secs));
    let link = store
        .insert_debug_link(
            call_id,
            &token.hash(),
            &token.encrypt(key)?,
            now,
            expires_at,
            options.include_recording,
        )
        .await?;
    // A concurrent request may have won the insert: show whichever link is live.
    let token = DebugToken::decrypt(&link.token_enc, key).ok_or(DebugLinkError::Unsealable)?;
    Ok(owner_view(&token, &link))
}

/// Revokes the call's live link; `Ok(false)` when it had none.
pub async fn revoke(
    store: &Store,
    account_id: AccountId,
    call_id: CallId,
    now: UnixTime,
) -> Result<bool, DebugLinkError> {
    if store.debug_log_state(account_id, call_id).await? == DebugLogState::NoSuchCall {
        return Err(DebugLinkError::CallNotFound);
    }
    Ok(store.revoke_debug_link(call_id, now).await?)
}

/// The outcome of opening a presented token.
pub enum Opened {
    Found {
        link_id: LinkId,
        /// The masked view, as JSON.
        json: Bytes,
    },
    /// Unknown, malformed, revoked or expired: all the same to the caller.
    Missing,
}

/// Resolves a token to the masked view as JSON (with the recording if the link includes
/// it). Malformed tokens never reach the database; the link is looked up on every call,
/// what it shows is built once per change of the call (`view_cache`).
pub async fn open(
    store: &Store,
    token_text: &str,
    recordings: RecordingAccess<'_>,
    now: UnixTime,
) -> Result<Opened, StoreError> {
    let Some((token, target)) = find_open_link(store, token_text, now).await? else {
        return Ok(Opened::Missing);
    };
    let Some(shared) = shared_view(store, target.call_id).await? else {
        return Ok(Opened::Missing);
    };
    let recording =
        recording::for_link(recordings, &token, &target, shared.recording.as_ref(), now);
    let json = match recording {
        None => shared.json.clone(),
        Some(recording) => {
            let mut view = shared.view.clone();
            view.recording = Some(recording);
            to_json(&view)?
        }
    };
    Ok(Opened::Found {
        link_id: target.link_id,
        json,
    })
}

/// The call's public view as every link shows it (without the recording), from the cache
/// or built and offered to it; `None` when the call is gone.
async fn shared_view(
    store: &Store,
    call_id: CallId,
) -> Result<Option<std::sync::Arc<CachedView>>, StoreError> {
    let views = store.changes().views();
    let started = std::time::Instant::now();
    let ticket = match views.lookup(call_id, started) {
        view_cache::Lookup::Hit(view) => return Ok(Some(view)),
        view_cache::Lookup::Miss(ticket) => ticket,
    };
    let Some(view) = view::load(store, call_id).await? else {
        return Ok(None);
    };
    let recording = store.link_recording(call_id).await?;
    let json = to_json(&view)?;
    let built = CachedView {
        view,
        json,
        recording,
    };
    // Aged from before the reads: what it shows is at least as old as that.
    Ok(Some(views.put(ticket, built, started)))
}

fn to_json(view: &PublicDebugView) -> Result<Bytes, StoreError> {
    serde_json::to_vec(view)
        .map(Bytes::from)
        .map_err(|e| StoreError::Corrupt(format!("serialising a public view: {e}")))
}

/// The link a presented token opens at `now`, with the token: `None` for a malformed
/// token (which never reaches the database), an unknown, revoked or expired one, or a
/// suspended account's.
async fn find_open_link(
    store: &Store,
    token_text: &str,
    now: UnixTime,
) -> Result<Option<(DebugToken, LinkTarget)>, StoreError> {
    let Some(token) = DebugToken::parse(token_text) else {
        return Ok(None);
    };
    let target = store.find_debug_link(&token.hash()).await?;
    Ok(target.filter(|t| !t.is_expired(now)).map(|t| (token, t)))
}

/// The public endpoint's helpers: miss limiting, view counting and live streams.
pub struct DebugLinks {
    pub limiter: MissLimiter,
    pub recorder: ViewRecorder,
    pub streams: LiveViews,
}

/// What opening a live stream gives.
pub enum StreamOpened {
    /// The events to send, as they come.
    Streaming(
        tokio::sync::mpsc::Receiver<Result<axum::response::sse::Event, std::convert::Infallible>>,
    ),
    /// The call has ended and the client has everything (or asked without a cursor): the
    /// JSON view is final, there is nothing to stream.
    Final,
}

impl DebugLinks {
    /// `miss_limit` misses a minute per client (0: no limit). With live state in Redis,
    /// miss counts are shared through the same Redis, under the same key prefix, so every
    /// instance sees them.
    pub fn new(
        miss_limit: u32,
        live: &LiveStore,
        recorder: ViewRecorder,
        streams: LiveViews,
    ) -> Self {
        let mut limiter = MissLimiter::new(miss_limit, std::time::Duration::from_secs(60));
        if let LiveStore::Redis { conn, prefix, .. } = live {
            limiter = limiter.shared_through(SharedMisses::new(conn.clone(), prefix.clone()));
        }
        Self {
            limiter,
            recorder,
            streams,
        }
    }

    /// Counts a miss of `client`: the link error, or the limiter's refusal once over.
    async fn miss(&self, client: ClientKey) -> DebugLinkError {
        crate::metrics::link_miss();
        match self.limiter.count_miss(client).await {
            Ok(()) => DebugLinkError::LinkNotFound,
            Err(retry_after) => DebugLinkError::TooManyMisses { retry_after },
        }
    }

    /// A presented token's live stream, for `client`, resuming after `last_event_id` (see
    /// `stream`). Misses count as for the JSON view; opening a stream is not a view (the
    /// viewer reads the JSON first, which counted it).
    pub async fn open_stream(
        &self,
        store: &Store,
        client: ClientKey,
        token: &str,
        last_event_id: Option<&str>,
        clock: crate::clock::SharedClock,
    ) -> Result<StreamOpened, DebugLinkError> {
        if let Err(retry_after) = self.limiter.check(client).await {
            return Err(DebugLinkError::TooManyMisses { retry_after });
        }
        let Some((_, target)) = find_open_link(store, token, clock.now()).await? else {
            return Err(self.miss(client).await);
        };
        let slot = self
            .streams
            .reserve(client)
            .map_err(|_| DebugLinkError::TooManyStreams)?;
        let Some(snapshots) = self.streams.follow(target.call_id, target.link_id).await? else {
            return Err(self.miss(client).await);
        };
        let from = last_event_id.and_then(stream::Cursor::parse);
        let snapshot = snapshots.borrow().clone();
        if !snapshot.view.status.is_live() && (from.is_none() || from == Some(snapshot.cursor())) {
            return Ok(StreamOpened::Final);
        }
        Ok(StreamOpened::Streaming(self.streams.stream(
            slot,
            target.link_id,
            snapshots,
            from,
            clock,
        )))
    }

    /// A presented token's masked view as JSON, for `client`: refused outright while the client
    /// is over its miss limit; a miss counts against it; a view is counted later, off the
    /// response's path. A storage failure is neither a miss nor a view.
    pub async fn open_public(
        &self,
        store: &Store,
        client: ClientKey,
        token: &str,
        recordings: RecordingAccess<'_>,
        now: UnixTime,
    ) -> Result<Bytes, DebugLinkError> {
        if let Err(retry_after) = self.limiter.check(client).await {
            return Err(DebugLinkError::TooManyMisses { retry_after });
        }
        match open(store, token, recordings, now).await? {
            Opened::Found { link_id, json } => {
                self.recorder.record(link_id, now);
                crate::metrics::link_view();
                Ok(json)
            }
            // The miss's own count decides: it may have raced others past the check above.
            Opened::Missing => Err(self.miss(client).await),
        }
    }

    /// The recording file a request for a link's recording may read (`recording`), for
    /// `client`: misses count as for the JSON view (an unknown, revoked or expired link, and
    /// equally a bad or expired URL of an open one, so the answer tells nothing), and
    /// nothing is counted as a view.
    pub async fn open_recording(
        &self,
        store: &Store,
        client: ClientKey,
        token: &str,
        query: recording::SignedQuery<'_>,
        recordings: RecordingAccess<'_>,
        now: UnixTime,
    ) -> Result<crate::recordings::embedded::Verified, DebugLinkError> {
        if let Err(retry_after) = self.limiter.check(client).await {
            return Err(DebugLinkError::TooManyMisses { retry_after });
        }
        let file = match find_open_link(store, token, now).await? {
            Some((_, link)) => recording::open_file(store, recordings, &link, query, now).await?,
            None => None,
        };
        match file {
            Some(file) => Ok(file),
            None => Err(self.miss(client).await),
        }
    }
}
