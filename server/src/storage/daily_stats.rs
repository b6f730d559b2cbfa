//! Per-day, per-agent roll-ups of calls, kept in step with every stored call, so a summary
//! over any range of whole days reads a few rows instead of every call.

use callscope_shared::{CallStatus, Disposition, Minutes, Money};

use super::sql::Sql;
use super::{NewCall, Store, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;

/// Exact totals of a summary (money in ten-thousandths, minutes in hundredths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    pub total_calls: i64,
    pub completed_calls: i64,
    pub failed_calls: i64,
    pub answered_calls: i64,
    pub no_answer_calls: i64,
    pub total_duration_seconds: i64,
    pub minutes_used_e2: i64,
    pub total_cost_e4: i64,
    pub recording_cost_e4: i64,
    pub llm_discount_e4: i64,
}

const TOTAL_COLUMNS: [&str; 10] = [
    "total_calls",
    "completed_calls",
    "failed_calls",
    "answered_calls",
    "no_answer_calls",
    "total_duration_seconds",
    "minutes_used_e2",
    "total_cost_e4",
    "recording_cost_e4",
    "llm_discount_e4",
];

/// `SUM(column) AS column`. PostgreSQL's SUM(bigint) is NUMERIC, which the Any driver
/// cannot read: cast back.
fn sum(column: &str) -> String {
    format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS {column}")
}

impl Store {
    /// Totals over whole UTC days `[from_day, to_day)` (each at midnight), from the roll-ups.
    pub async fn summary(
        &self,
        account_id: AccountId,
        agent_id: Option<AgentRowId>,
        from_day: Option<UnixTime>,
        to_day: Option<UnixTime>,
    ) -> StoreResult<Totals> {
        let columns = TOTAL_COLUMNS.map(sum).join(", ");
        let mut sql = Sql::new(&format!("SELECT {columns} FROM call_daily_stats"));
        sql.and("account_id = ").bind(account_id)?;
        if let Some(from) = from_day {
            sql.and("day >= ").bind(from)?;
        }
        if let Some(to) = to_day {
            sql.and("day < ").bind(to)?;
        }
        if let Some(agent) = agent_id {
            sql.and("agent_id = ").bind(agent)?;
        }
        let (sql, args) = sql.finish();
        Ok(sqlx::query_as_with(&sql, args)
            .fetch_one(self.pool())
            .await?)
    }
}

/// The UTC midnight that starts `at`'s day.
fn day_of(at: UnixTime) -> UnixTime {
    UnixTime(at.secs().div_euclid(DAY) * DAY)
}

/// What one call adds to its day's roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Contribution {
    pub account_id: AccountId,
    pub agent_id: AgentRowId,
    pub started_at: UnixTime,
    pub status: CallStatus,
    pub disposition: Option<Disposition>,
    pub duration_seconds: i64,
    pub minutes_used: Minutes,
    pub total_cost: Money,
    pub recording_cost: Money,
    pub llm_discount: Money,
}

impl From<&NewCall> for Contribution {
    fn from(c: &NewCall) -> Self {
        Self {
            account_id: c.account_id,
            agent_id: c.agent_id,
            started_at: c.started_at,
            status: c.status,
            disposition: c.disposition,
            duration_seconds: c.duration_seconds,
            minutes_used: c.minutes_used,
            total_cost: c.total_cost,
            recording_cost: c.recording_cost,
            llm_discount: c.llm_discount,
        }
    }
}

/// Moves a changed call's contribution in its day's roll-up from `old` to `new` (nothing
/// when they are equal).
pub(super) async fn replace(
    conn: &mut sqlx::AnyConnection,
    old: &Contribution,
    new: &Contribution,
) -> StoreResult<()> {
    if old != new {
        add(&mut *conn, old, -1).await?;
        add(conn, new, 1).await?;
    }
    Ok(())
}

/// Adds a call's contribution (`sign` = 1) to its day's roll-up, or removes it (`sign` = -1).
pub(super) async fn add(
    conn: &mut sqlx::AnyConnection,
    call: &Contribution,
    sign: i64,
) -> StoreResult<()> {
    let flag = |b: bool| if b { sign } else { 0 };
    sqlx::query(
        "INSERT INTO call_daily_stats (account_id, agent_id, day, total_calls, completed_calls, failed_calls,
            answered_calls, no_answer_calls, total_duration_seconds, minutes_used_e2, total_cost_e4,
            recording_cost_e4, llm_discount_e4)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (account_id, day, agent_id) DO UPDATE SET
            total_calls = call_daily_stats.total_calls + excluded.total_calls,
            completed_calls = call_daily_stats.completed_calls + excluded.completed_calls,
            failed_calls = call_daily_stats.failed_calls + excluded.failed_calls,
            answered_calls = call_daily_stats.answered_calls + excluded.answered_calls,
            no_answer_calls = call_daily_stats.no_answer_calls + excluded.no_answer_calls,
            total_duration_seconds = call_daily_stats.total_duration_seconds + excluded.total_duration_seconds,
            minutes_used_e2 = call_daily_stats.minutes_used_e2 + excluded.minutes_used_e2,
            total_cost_e4 = call_daily_stats.total_cost_e4 + excluded.total_cost_e4,
            recording_cost_e4 = call_daily_stats.recording_cost_e4 + excluded.recording_cost_e4,
            llm_discount_e4 = call_daily_stats.llm_discount_e4 + excluded.llm_discount_e4",
    )
    .bind(call.account_id)
    .bind(call.agent_id)
    .bind(day_of(call.started_at))
    .bind(sign)
    .bind(flag(call.status == CallStatus::Completed))
    .bind(flag(call.status == CallStatus::Failed))
    .bind(flag(call.disposition == Some(Disposition::Answered)))
    .bind(flag(call.disposition == Some(Disposition::NoAnswer)))
    .bind(sign * call.duration_seconds)
    .bind(sign * call.minutes_used.units())
    .bind(sign * call.total_cost.units())
    .bind(sign * call.recording_cost.units())
    .bind(sign * call.llm_discount.units())
    .execute(conn)
    .await?;
    Ok(())
}
