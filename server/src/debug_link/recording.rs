//! The recording in a debug link's public view, for links issued with
//! `include_recording=true` (by default a link never exposes the recording: audio cannot be
//! masked).
//!
//! The JSON view of such a link carries `recording: {url, expires_at, offset_seconds}` when
//! the call's recording is stored (`RecordingState::Available`) and the server has a
//! recordings store; `null` otherwise, and always `null` in the live stream's snapshots
//! (they are shared by every stream of a call and a recording only exists once a call has
//! ended, when its stream ends). The URL works for [`AUDIO_URL_TTL`], never past the link's
//! own expiry:
//!
//! - **Embedded store**: a path under the link itself,
//!   `/api/v1/call-debug/<token>/recording?expires=<unix seconds>&signature=<sig>`, with
//!   `sig` = unpadded base64url of HMAC-SHA256 under a key derived from the server key
//!   (`debug-link-recording-url/v1`) of
//!   `"callscope-debug-recording/v1\n" + link id + "\n" + expires + "\n" + recording key`.
//!   Every request re-checks the link (open: not revoked, not expired, its account active,
//!   still including the recording) before the signature, so revoking or expiring the link
//!   stops the audio at once; the signature bounds the URL's life and ties it to this link
//!   and this recording.
//! - **S3**: a pre-signed GET of the object, valid for the same time. S3 checks nothing but
//!   its signature, so a URL handed out before a revocation keeps working until its own
//!   short expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callscope_shared::PublicRecording;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::DebugToken;
use crate::clock::UnixTime;
use crate::ids::LinkId;
use crate::recordings::RecordingStore;
use crate::recordings::embedded::Verified;
use crate::storage::{LinkRecording, LinkTarget, RecordingState, Store, StoreResult};

/// How long a recording URL in a public view works: 10 minutes, cut to the link's own
/// expiry when that comes first. The viewer fetches the view again for a fresh URL when
/// one stops working.
pub const AUDIO_URL_TTL: i64 = 600;

const SIGNATURE_CONTEXT: &[u8] = b"callscope-debug-recording/v1\n";

/// What signing a link's recording URL takes: the configured store (`None`: recordings are
/// not configured) and the key of the embedded store's link-bound URLs
/// (`Keys::debug_recording_url`).
#[derive(Clone, Copy)]
pub struct RecordingAccess<'a> {
    pub store: Option<&'a RecordingStore>,
    pub key: &'a [u8; 32],
}

/// The view's `recording` for `link` (presented as `token`) at `now`, given the call's
/// `recording` as the store has it: `None` unless the link includes the recording, the
/// call's recording is stored and a store is configured.
pub fn for_link(
    access: RecordingAccess<'_>,
    token: &DebugToken,
    link: &LinkTarget,
    recording: Option<&LinkRecording>,
    now: UnixTime,
) -> Option<PublicRecording> {
    let recordings = access.store.filter(|_| link.include_recording)?;
    let recording = recording?;
    let RecordingState::Available(key) = &recording.state else {
        return None;
    };
    let expires = url_expiry(link, now);
    let url = match recordings {
        RecordingStore::Embedded(_) => Some(signed_path(
            access.key,
            token,
            link.link_id,
            key,
            expires.secs(),
        )),
        RecordingStore::S3(bucket) => bucket
            .presign_get(key, expires.since(now).max(1) as u64, now.secs())
            .map(String::from)
            .ok(),
    };
    let (Some(url), Some(expires_at)) = (url, expires.timestamp()) else {
        tracing::warn!(call_id = %link.call_id, "a recording URL could not be signed; the view shows none");
        return None;
    };
    Some(PublicRecording {
        url,
        expires_at,
        offset_seconds: offset_seconds(recording),
    })
}

/// When a URL signed at `now` for `link` stops working: `now + AUDIO_URL_TTL`, or the
/// link's expiry if sooner.
pub fn url_expiry(link: &LinkTarget, now: UnixTime) -> UnixTime {
    let ttl = now.plus(AUDIO_URL_TTL);
    link.expires_at.map_or(ttl, |at| at.min(ttl))
}

/// Seconds from the call's start to the audio's first sample: from `started_at` to the
/// provider's `recording_started_at`, or 0 when the provider did not say (the audio is then
/// taken to start with the call).
pub fn offset_seconds(recording: &LinkRecording) -> f64 {
    recording
        .recording_started_at
        .map_or(0, |at| at.since(recording.call_started_at)) as f64
}

fn mac(key: &[u8; 32], link_id: LinkId, recording_key: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(SIGNATURE_CONTEXT);
    mac.update(link_id.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(recording_key.as_bytes());
    mac
}

/// The embedded store's link-bound recording URL (a path on this server).
pub fn signed_path(
    key: &[u8; 32],
    token: &DebugToken,
    link_id: LinkId,
    recording_key: &str,
    expires: i64,
) -> String {
    let signature = URL_SAFE_NO_PAD.encode(
        mac(key, link_id, recording_key, expires)
            .finalize()
            .into_bytes(),
    );
    format!(
        "{}?expires={expires}&signature={signature}",
        callscope_shared::link::recording_path(token.as_str())
    )
}

/// The `expires` of a link-bound URL if its signature is this server's for `link_id` and
/// `recording_key` and it has not passed at `now`; `None` otherwise, with no hint which.
pub fn verify(
    key: &[u8; 32],
    link_id: LinkId,
    recording_key: &str,
    expires_text: &str,
    signature: &str,
    now: UnixTime,
) -> Option<i64> {
    let expires: i64 = expires_text.parse().ok()?;
    // The form this server writes only: digits, no sign, no leading zeros.
    if expires < 0 || expires.to_string() != expires_text {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(key, link_id, recording_key, expires)
        .verify_slice(&signature)
        .ok()?;
    (now.secs() <= expires).then_some(expires)
}

/// The signed part of a link-bound recording URL, as the request gave it (empty when
/// missing).
#[derive(Debug, Clone, Copy)]
pub struct SignedQuery<'a> {
    pub expires: &'a str,
    pub signature: &'a str,
}

/// The file a request for a link's recording may read: the link opens at `now` and still
/// includes the recording, the call's recording is stored in the embedded store, and the
/// URL's `expires` and `signature` check out. `None` for anything else (the route answers
/// every such request with the link's one 404).
pub async fn open_file(
    store: &Store,
    access: RecordingAccess<'_>,
    link: &LinkTarget,
    query: SignedQuery<'_>,
    now: UnixTime,
) -> StoreResult<Option<Verified>> {
    let Some(RecordingStore::Embedded(files)) = access.store else {
        return Ok(None);
    };
    if !link.include_recording {
        return Ok(None);
    }
    let Some(recording) = store.link_recording(link.call_id).await? else {
        return Ok(None);
    };
    let RecordingState::Available(key) = recording.state else {
        return Ok(None);
    };
    let verified = verify(
        access.key,
        link.link_id,
        &key,
        query.expires,
        query.signature,
        now,
    );
    let Some(expires) = verified else {
        return Ok(None);
    };
    Ok(files.path_of(&key).map(|path| Verified { path, expires }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_shared::CallId;

    const KEY: [u8; 32] = [7; 32];
    const T0: i64 = 1_768_471_200;

    fn link(expires_at: Option<i64>) -> LinkTarget {
        LinkTarget {
            link_id: LinkId(42),
            call_id: CallId::new(1).unwrap(),
            expires_at: expires_at.map(UnixTime),
            include_recording: true,
        }
    }

    fn query_of(path: &str) -> (String, String) {
        let query = path.split_once('?').unwrap().1;
        let (expires, signature) = query.split_once("&signature=").unwrap();
        (
            expires.strip_prefix("expires=").unwrap().to_owned(),
            signature.to_owned(),
        )
    }

    #[test]
    fn urls_live_ten_minutes_or_until_the_link_expires() {
        let now = UnixTime(T0);
        assert_eq!(url_expiry(&link(None), now), UnixTime(T0 + 600));
        assert_eq!(url_expiry(&link(Some(T0 + 3600)), now), UnixTime(T0 + 600));
        assert_eq!(url_expiry(&link(Some(T0 + 60)), now), UnixTime(T0 + 60));
    }

    #[test]
    fn the_offset_runs_from_the_calls_start_to_the_recordings() {
        let recording = |started: Option<i64>| LinkRecording {
            state: RecordingState::Available("k.mp3".into()),
            call_started_at: UnixTime(T0),
            recording_started_at: started.map(UnixTime),
        };
        assert_eq!(offset_seconds(&recording(Some(T0 + 4))), 4.0);
        assert_eq!(offset_seconds(&recording(Some(T0))), 0.0);
        assert_eq!(
            offset_seconds(&recording(None)),
            0.0,
            "unknown: with the call"
        );
        assert_eq!(offset_seconds(&recording(Some(T0 - 2))), -2.0);
    }

    #[test]
    fn a_signed_path_verifies_until_it_expires_and_only_for_its_link_and_recording() {
        let token = DebugToken::generate();
        let path = signed_path(&KEY, &token, LinkId(42), "rec/a.mp3", T0 + 600);
        assert!(
            path.starts_with(&format!(
                "/api/v1/call-debug/{}/recording?expires={}&signature=",
                token.as_str(),
                T0 + 600
            )),
            "{path}"
        );
        let (expires, signature) = query_of(&path);
        let ok = |key: &[u8; 32], link: i64, rec: &str, exp: &str, sig: &str, now: i64| {
            verify(key, LinkId(link), rec, exp, sig, UnixTime(now))
        };
        assert_eq!(
            ok(&KEY, 42, "rec/a.mp3", &expires, &signature, T0),
            Some(T0 + 600)
        );
        assert_eq!(
            ok(&KEY, 42, "rec/a.mp3", &expires, &signature, T0 + 600),
            Some(T0 + 600),
            "good until expires, inclusive"
        );
        assert_eq!(
            ok(&KEY, 42, "rec/a.mp3", &expires, &signature, T0 + 601),
            None
        );
        assert_eq!(
            ok(&KEY, 43, "rec/a.mp3", &expires, &signature, T0),
            None,
            "another link"
        );
        assert_eq!(
            ok(&KEY, 42, "rec/b.mp3", &expires, &signature, T0),
            None,
            "another recording"
        );
        assert_eq!(
            ok(&[8; 32], 42, "rec/a.mp3", &expires, &signature, T0),
            None,
            "another server key"
        );
        let later = (T0 + 6000).to_string();
        assert_eq!(
            ok(&KEY, 42, "rec/a.mp3", &later, &signature, T0),
            None,
            "an extended expiry"
        );
        for bad in [format!("0{expires}"), format!("+{expires}"), "-1".into()] {
            assert_eq!(
                ok(&KEY, 42, "rec/a.mp3", &bad, &signature, T0),
                None,
                "{bad}"
            );
        }
        assert_eq!(ok(&KEY, 42, "rec/a.mp3", &expires, "!!", T0), None);
        // The embedded store's own URLs are signed under another key and context: a
        // `/recordings/` signature is no use here, nor the reverse.
        let store = crate::recordings::embedded::EmbeddedStore::new("/nonexistent", KEY);
        let (_, own) = query_of(&store.signed_path("rec/a.mp3", 600, T0).unwrap());
        assert_eq!(ok(&KEY, 42, "rec/a.mp3", &expires, &own, T0), None);
    }
}
