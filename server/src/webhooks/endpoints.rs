//! The endpoint service: an account's webhook endpoints — create (target and events
//! checked, signing secret made), delete, queue a test event, look one up. Routes parse
//! and serialise around these.

use callscope_shared::WEBHOOK_EVENTS;

use super::events;
use super::secret::SigningSecret;
use super::target::{self, TargetError};
use super::{MAX_ENDPOINTS, parse_endpoint_id};
use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::secrets::CryptoError;
use crate::storage::{EndpointRecord, NewEndpoint, OutboxEvent, Store, StoreError};

/// Why an endpoint operation did not succeed. `error.rs` maps it to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Missing, deleted, malformed id, or another account's.
    #[error("no such webhook endpoint")]
    NotFound,
    #[error("the webhook endpoint is disabled")]
    Disabled,
    #[error("an unknown event name")]
    UnknownEvent,
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("the account has the most endpoints allowed")]
    TooMany,
    #[error("making a signing secret: {0}")]
    Crypto(#[from] CryptoError),
    #[error("webhook storage: {0}")]
    Store(#[from] StoreError),
}

/// A new endpoint and its signing secret, which is shown only now.
pub struct Created {
    pub endpoint: EndpointRecord,
    pub secret: SigningSecret,
}

/// Subscribed events: known names only, each once, in the order given.
fn parse_events(events: Option<Vec<String>>) -> Result<Vec<String>, EndpointError> {
    let mut out: Vec<String> = Vec::new();
    for name in events.unwrap_or_default() {
        if !WEBHOOK_EVENTS.contains(&name.as_str()) {
            return Err(EndpointError::UnknownEvent);
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Creates an endpoint for `url` (checked as a target; private addresses only when
/// `allow_private`), its secret sealed under `secret_key`.
pub async fn create(
    store: &Store,
    secret_key: &[u8; 32],
    allow_private: bool,
    account_id: AccountId,
    url: &str,
    events: Option<Vec<String>>,
    now: UnixTime,
) -> Result<Created, EndpointError> {
    let events = parse_events(events)?;
    let url = target::validate(url.trim(), allow_private).await?;
    let secret = SigningSecret::try_generate()?;
    let endpoint = store
        .insert_endpoint(
            &NewEndpoint {
                account_id,
                url: url.to_string(),
                events,
                secret_enc: secret.seal(secret_key)?,
                created_at: now,
            },
            MAX_ENDPOINTS,
        )
        .await?
        .ok_or(EndpointError::TooMany)?;
    Ok(Created { endpoint, secret })
}

/// The account's endpoint named by a public id (`wh_…`).
pub async fn owned(
    store: &Store,
    account_id: AccountId,
    public_id: &str,
) -> Result<EndpointRecord, EndpointError> {
    let id = parse_endpoint_id(public_id).ok_or(EndpointError::NotFound)?;
    store
        .get_endpoint(account_id, id)
        .await?
        .ok_or(EndpointError::NotFound)
}

/// Deletes the endpoint; queued deliveries to it are dropped, its history stays.
pub async fn delete(
    store: &Store,
    account_id: AccountId,
    public_id: &str,
    now: UnixTime,
) -> Result<(), EndpointError> {
    let id = parse_endpoint_id(public_id).ok_or(EndpointError::NotFound)?;
    if !store.delete_endpoint(account_id, id, now).await? {
        return Err(EndpointError::NotFound);
    }
    Ok(())
}

/// Queues a `webhook.test` event to the endpoint through the outbox.
pub async fn send_test(
    store: &Store,
    account_id: AccountId,
    public_id: &str,
    now: UnixTime,
) -> Result<OutboxEvent, EndpointError> {
    let endpoint = owned(store, account_id, public_id).await?;
    if !endpoint.enabled {
        return Err(EndpointError::Disabled);
    }
    let event = events::test_event(&super::endpoint_public_id(endpoint.id), now);
    if !store
        .enqueue_for_endpoint(account_id, endpoint.id, &event, now)
        .await?
    {
        // Disabled or deleted between the two reads.
        return Err(EndpointError::NotFound);
    }
    Ok(event)
}
