//! The calls service: reading an account's calls, live state included. Routes parse and
//! serialise around these; the rules (what "not found" covers, where a live call's state
//! comes from) are here.

use callscope_shared::{AgentId, Call, CallId, CallStatusView, WebhookDelivery};

use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};
use crate::live::{LiveError, LiveStore};
use crate::storage::{CallFilter, Position, Store, StoreError};

/// Why reading a call did not succeed. `error.rs` maps it to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Missing, or another account's: the two are indistinguishable to the caller.
    #[error("no such call")]
    NotFound,
    #[error("reading live call state: {0}")]
    Live(#[from] LiveError),
    #[error("calls storage: {0}")]
    Store(#[from] StoreError),
}

/// An agent named either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentRef {
    Public(AgentId),
    Numeric(i64),
}

/// One page of the account's calls and whether more follow. An agent named by a public id
/// the account does not have matches no calls.
pub async fn list(
    store: &Store,
    account_id: AccountId,
    agent: Option<AgentRef>,
    mut filter: CallFilter,
    after: Option<Position>,
    limit: u32,
) -> Result<(Vec<Call>, bool), CallError> {
    filter.agent_id = match agent {
        None => None,
        Some(AgentRef::Numeric(id)) => Some(AgentRowId(id)),
        Some(AgentRef::Public(public)) => {
            match store.agent_by_public_id(account_id, &public).await? {
                Some(agent) => Some(agent.id),
                None => return Ok((Vec::new(), false)),
            }
        }
    };
    Ok(store.list_calls(account_id, &filter, after, limit).await?)
}

/// The whole call, transcript and latency included.
pub async fn detail(
    store: &Store,
    account_id: AccountId,
    call_id: CallId,
) -> Result<Call, CallError> {
    store
        .get_call(account_id, call_id)
        .await?
        .ok_or(CallError::NotFound)
}

/// A call's state for polling: the live state while the call is live (its duration so far
/// measured at `now`), the record once it has ended.
pub async fn status(
    store: &Store,
    live: &LiveStore,
    account_id: AccountId,
    call_id: CallId,
    now: UnixTime,
) -> Result<CallStatusView, CallError> {
    let row = store
        .call_status(account_id, call_id)
        .await?
        .ok_or(CallError::NotFound)?;
    if !row.status.is_live() {
        return Ok(CallStatusView {
            call_id,
            status: row.status,
            duration_seconds: row.duration_seconds,
            started_at: row.started_at,
            ended_at: row.ended_at,
        });
    }
    let entry = live.get(call_id).await?;
    // The live entry wins; without one (e.g. expired), the record's own state stands.
    let (status, started_at) = entry
        .filter(|l| l.account_id == account_id.get())
        .map(|l| (l.status, l.started_at))
        .unwrap_or((row.status, row.started_at));
    Ok(CallStatusView {
        call_id,
        status,
        duration_seconds: now.since(UnixTime::from(started_at)).max(0),
        started_at,
        ended_at: None,
    })
}

/// The webhook deliveries about one of the account's calls.
pub async fn deliveries(
    store: &Store,
    account_id: AccountId,
    call_id: CallId,
) -> Result<Vec<WebhookDelivery>, CallError> {
    if !store.owns_call(account_id, call_id).await? {
        return Err(CallError::NotFound);
    }
    Ok(store.call_deliveries(call_id).await?)
}
