//! Transfers of live calls (`transfers`), one row per `POST /v1/calls/:id/transfer` that
//! reached Telnyx. Rows change only under their call's lock (`CallTx`), so a transfer's
//! state, its call and its webhook events move together.

use callscope_shared::CallId;

use super::call_updates::CallTx;
use super::{Store, StoreError, StoreResult, decode};
use crate::clock::UnixTime;

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Written before the command goes to Telnyx; Telnyx has not accepted it yet.
    Requested,
    /// Telnyx accepted the command and is dialling the new leg.
    Initiated,
    /// The new leg answered.
    Completed,
    /// The new leg hung up before answering; the call went on.
    Failed,
}

impl TransferState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Initiated => "initiated",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> StoreResult<Self> {
        Ok(match text {
            "requested" => Self::Requested,
            "initiated" => Self::Initiated,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            other => return Err(StoreError::Corrupt(format!("transfer state {other:?}"))),
        })
    }

    /// Requested or initiated: the new leg's outcome is not known yet.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Requested | Self::Initiated)
    }
}

/// One transfer attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: i64,
    pub call_id: CallId,
    pub destination: String,
    pub state: TransferState,
    pub requested_at: UnixTime,
    /// When the new leg answered (completed transfers).
    pub bridged_at: Option<UnixTime>,
    /// The first hangup of either leg seen so far.
    pub ended_at: Option<UnixTime>,
    /// Why the new leg failed (Telnyx's `hangup_cause`).
    pub failure: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TransferRow {
    id: i64,
    call_id: i64,
    destination: String,
    state: String,
    requested_at: UnixTime,
    bridged_at: Option<UnixTime>,
    ended_at: Option<UnixTime>,
    failure: Option<String>,
}

impl TryFrom<TransferRow> for Transfer {
    type Error = StoreError;

    fn try_from(r: TransferRow) -> StoreResult<Self> {
        Ok(Transfer {
            id: r.id,
            call_id: decode::call_id(r.call_id)?,
            destination: r.destination,
            state: TransferState::parse(&r.state)?,
            requested_at: r.requested_at,
            bridged_at: r.bridged_at,
            ended_at: r.ended_at,
            failure: r.failure,
        })
    }
}

const COLUMNS: &str =
    "id, call_id, destination, state, requested_at, bridged_at, ended_at, failure";

impl Store {
    /// The call a transfer belongs to (the new leg's webhooks name only the transfer).
    pub async fn transfer_call(&self, transfer_id: i64) -> StoreResult<Option<CallId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT call_id FROM transfers WHERE id = $1")
            .bind(transfer_id)
            .fetch_optional(self.pool())
            .await?;
        id.map(decode::call_id).transpose()
    }

    /// Whether a call was ever transferred (read without its lock).
    pub async fn has_transfers(&self, call_id: CallId) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM transfers WHERE call_id = $1 LIMIT 1")
                .bind(call_id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }
}

impl CallTx {
    /// Records a transfer about to be sent to Telnyx; its id.
    pub async fn insert_transfer(
        &mut self,
        destination: &str,
        requested_at: UnixTime,
    ) -> StoreResult<i64> {
        let call_id = self.state().call_id.get();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfers (call_id, destination, state, requested_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(call_id)
        .bind(destination)
        .bind(TransferState::Requested.as_str())
        .bind(requested_at)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    /// Every transfer of the locked call, oldest first.
    pub async fn transfers(&mut self) -> StoreResult<Vec<Transfer>> {
        let call_id = self.state().call_id.get();
        let rows: Vec<TransferRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM transfers WHERE call_id = $1 ORDER BY id"
        ))
        .bind(call_id)
        .fetch_all(self.conn())
        .await?;
        rows.into_iter().map(Transfer::try_from).collect()
    }

    /// Writes a transfer of the locked call as `transfer` has it.
    pub async fn save_transfer(&mut self, transfer: &Transfer) -> StoreResult<()> {
        sqlx::query(
            "UPDATE transfers SET state = $1, bridged_at = $2, ended_at = $3, failure = $4 \
             WHERE id = $5 AND call_id = $6",
        )
        .bind(transfer.state.as_str())
        .bind(transfer.bridged_at)
        .bind(transfer.ended_at)
        .bind(transfer.failure.as_deref())
        .bind(transfer.id)
        .bind(self.state().call_id.get())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Forgets a transfer Telnyx refused (it never started).
    pub async fn delete_transfer(&mut self, transfer_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM transfers WHERE id = $1 AND call_id = $2")
            .bind(transfer_id)
            .bind(self.state().call_id.get())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
