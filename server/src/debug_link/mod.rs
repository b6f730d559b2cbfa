//! Public debug links: issuing, revoking and opening them.
//!
//! Lifecycle: the owner's `GET /v1/calls/:id/debug-link` issues a token (or returns the
//! live one); `POST …/debug-link/revoke` kills it at once, and the next GET issues a new
//! one. An optional expiry (`expires_in`, 60 s to 90 days) is fixed at issue; an expired
//! link answers like an unknown one, and the next GET replaces it.

pub mod limiter;
pub mod recorder;
pub mod shared_misses;
pub mod token;
pub mod view;

use callscope_shared::{CallId, DebugLink, PublicDebugView};

pub use limiter::MissLimiter;
pub use recorder::ViewRecorder;
pub use shared_misses::SharedMisses;
pub use token::DebugToken;

use crate::clock::UnixTime;
use crate::error::ApiError;
use crate::ids::{AccountId, LinkId};
use crate::storage::{DebugLogState, LinkRecord, Store};

/// Longest expiry an owner may ask for: 90 days.
pub const MAX_EXPIRES_IN: i64 = 90 * 86_400;
/// Shortest expiry: one minute.
pub const MIN_EXPIRES_IN: i64 = 60;

/// The public path of a token.
pub fn public_path(token: &DebugToken) -> String {
    format!("/api/v1/call-debug/{}", token.as_str())
}

fn owner_view(token: &DebugToken, link: &LinkRecord) -> DebugLink {
    DebugLink {
        debug_token: token.as_str().to_owned(),
        url: public_path(token),
        created_at: link.created_at.timestamp(),
        expires_at: link.expires_at.and_then(UnixTime::timestamp),
        view_count: link.view_count.max(0) as u64,
        last_viewed_at: link.last_viewed_at.and_then(UnixTime::timestamp),
    }
}

/// Returns the call's live link, issuing one if it has none (or only an expired one).
pub async fn issue(
    store: &Store,
    key: &[u8; 32],
    account_id: AccountId,
    call_id: CallId,
    expires_in: Option<i64>,
    now: UnixTime,
) -> Result<DebugLink, ApiError> {
    match store.debug_log_state(account_id, call_id).await? {
        DebugLogState::NoSuchCall => return Err(ApiError::not_found("Call not found")),
        DebugLogState::NotAvailable => return Err(ApiError::not_found("Debug log not available")),
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
    let token = DebugToken::generate();
    let expires_at = expires_in.map(|secs| now.plus(secs));
    let link = store
        .insert_debug_link(call_id, &token.hash(), &token.encrypt(key), now, expires_at)
        .await?;
    // A concurrent request may have won the insert: show whichever link is live.
    let token = DebugToken::decrypt(&link.token_enc, key).ok_or_else(ApiError::internal)?;
    Ok(owner_view(&token, &link))
}

/// Revokes the call's live link; `Ok(false)` when it had none.
pub async fn revoke(
    store: &Store,
    account_id: AccountId,
    call_id: CallId,
    now: UnixTime,
) -> Result<bool, ApiError> {
    if store.debug_log_state(account_id, call_id).await? == DebugLogState::NoSuchCall {
        return Err(ApiError::not_found("Call not found"));
    }
    Ok(store.revoke_debug_link(call_id, now).await?)
}

/// The outcome of opening a presented token.
pub enum Opened {
    Found {
        link_id: LinkId,
        view: Box<PublicDebugView>,
    },
    /// Unknown, malformed, revoked or expired: all the same to the caller.
    Missing,
}

/// Resolves a token to the masked view. Malformed tokens never reach the database.
pub async fn open(store: &Store, token_text: &str, now: UnixTime) -> Result<Opened, ApiError> {
    let Some(token) = DebugToken::parse(token_text) else {
        return Ok(Opened::Missing);
    };
    let Some(target) = store.find_debug_link(&token.hash()).await? else {
        return Ok(Opened::Missing);
    };
    if target.expires_at.is_some_and(|at| at <= now) {
        return Ok(Opened::Missing);
    }
    let Some(call) = store.get_call_for_link(target.call_id).await? else {
        return Ok(Opened::Missing);
    };
    let deliveries = store.call_deliveries(target.call_id).await?;
    Ok(Opened::Found {
        link_id: target.link_id,
        view: Box::new(view::public_view(&call, &deliveries)),
    })
}
