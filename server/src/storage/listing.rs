//! Reading many calls: keyset-paginated lists and summaries over daily roll-ups.

use callscope_shared::{Call, CallId, CallStatus, Disposition, Timestamp};
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Row};

use super::calls::{CALL_COLUMNS, NewCall, call_from_row};
use super::{Store, StoreResult, instant, parse_enum};

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;

/// Filters of `GET /v1/calls`. Instants are Unix seconds; `to` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub agent_id: Option<i64>,
    pub status: Option<CallStatus>,
    pub disposition: Option<Disposition>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// A keyset position: the `(started_at, id)` of the last call of the previous page.
pub use crate::cursor::Position;

/// Exact totals of a summary (money in ten-thousandths, minutes in hundredths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// The light view `GET /v1/calls/:callId/status` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRow {
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A WHERE clause under construction, numbering `$n` parameters as it goes.
struct Conditions {
    sql: String,
    args: AnyArguments<'static>,
    next: usize,
}

impl Conditions {
    fn new() -> Self {
        Self {
            sql: String::new(),
            args: AnyArguments::default(),
            next: 1,
        }
    }

    fn placeholder(&mut self) -> String {
        let p = format!("${}", self.next);
        self.next += 1;
        p
    }

    /// Adds `AND <template>` with each `?` replaced by the next placeholder, binding `values`.
    fn and(&mut self, template: &str, values: &[i64]) {
        let mut clause = String::new();
        let mut values = values.iter();
        for part in template.split_inclusive('?') {
            match part.strip_suffix('?') {
                Some(text) => {
                    clause.push_str(text);
                    clause.push_str(&self.placeholder());
                    let v = *values.next().expect("a value per placeholder");
                    self.args.add(v).expect("binding an integer cannot fail");
                }
                None => clause.push_str(part),
            }
        }
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(&clause);
    }

    fn and_text(&mut self, column: &str, value: &'static str) {
        let p = self.placeholder();
        self.args.add(value).expect("binding text cannot fail");
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(&format!("{column} = {p}"));
    }
}

fn sum(column: &str) -> String {
    // PostgreSQL's SUM(bigint) is NUMERIC, which the Any driver cannot read: cast back.
    format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)")
}

impl Store {
    /// One page of an account's calls, newest first, after `after`. Returns the calls and
    /// whether more follow. Cost depends on `limit`, not on how deep the page is.
    pub async fn list_calls(
        &self,
        account_id: i64,
        filter: &CallFilter,
        after: Option<Position>,
        limit: u32,
    ) -> StoreResult<(Vec<Call>, bool)> {
        let mut w = Conditions::new();
        w.and("c.account_id = ?", &[account_id]);
        if let Some(agent) = filter.agent_id {
            w.and("c.agent_id = ?", &[agent]);
        }
        if let Some(status) = filter.status {
            w.and_text("c.status", status.as_str());
        }
        if let Some(disposition) = filter.disposition {
            w.and_text("c.disposition", disposition.as_str());
        }
        if let Some(from) = filter.from {
            w.and("c.started_at >= ?", &[from]);
        }
        if let Some(to) = filter.to {
            w.and("c.started_at < ?", &[to]);
        }
        if let Some(at) = after {
            // A row-value comparison, so both SQLite and PostgreSQL seek the
            // (account_id, started_at, id) index to the cursor instead of filtering from the
            // top: an OR of two conditions scanned every newer row (a page 10,000 deep took
            // 1.5 s on PostgreSQL).
            w.and("(c.started_at, c.id) < (?, ?)", &[at.started_at, at.id]);
        }
        let limit_param = w.placeholder();
        w.args
            .add(i64::from(limit) + 1)
            .expect("binding an integer cannot fail");
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls c JOIN agents ag ON ag.id = c.agent_id{}
             ORDER BY c.started_at DESC, c.id DESC LIMIT {limit_param}",
            w.sql
        );
        let rows = sqlx::query_with::<Any, _>(&sql, w.args)
            .fetch_all(self.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let calls = rows
            .iter()
            .take(limit as usize)
            .map(call_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((calls, has_more))
    }

    /// Totals over whole UTC days `[from_day, to_day)` (Unix seconds at midnight), from the
    /// daily roll-ups.
    pub async fn summary(
        &self,
        account_id: i64,
        agent_id: Option<i64>,
        from_day: Option<i64>,
        to_day: Option<i64>,
    ) -> StoreResult<Totals> {
        let mut w = Conditions::new();
        w.and("account_id = ?", &[account_id]);
        if let Some(from) = from_day {
            w.and("day >= ?", &[from]);
        }
        if let Some(to) = to_day {
            w.and("day < ?", &[to]);
        }
        if let Some(agent) = agent_id {
            w.and("agent_id = ?", &[agent]);
        }
        let columns = [
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
        ]
        .map(sum)
        .join(", ");
        let sql = format!("SELECT {columns} FROM call_daily_stats{}", w.sql);
        let row = sqlx::query_with::<Any, _>(&sql, w.args)
            .fetch_one(self.pool())
            .await?;
        Ok(Totals {
            total_calls: row.get(0),
            completed_calls: row.get(1),
            failed_calls: row.get(2),
            answered_calls: row.get(3),
            no_answer_calls: row.get(4),
            total_duration_seconds: row.get(5),
            minutes_used_e2: row.get(6),
            total_cost_e4: row.get(7),
            recording_cost_e4: row.get(8),
            llm_discount_e4: row.get(9),
        })
    }

    /// Status, duration and times of an account's call.
    pub async fn call_status(
        &self,
        account_id: i64,
        call_id: CallId,
    ) -> StoreResult<Option<StatusRow>> {
        let row = sqlx::query(
            "SELECT status, duration_seconds, started_at, ended_at FROM calls WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let ended_at: Option<i64> = r.get(3);
            Ok(StatusRow {
                status: parse_enum(&r.get::<String, _>(0), "call status")?,
                duration_seconds: r.get(1),
                started_at: instant(r.get(2))?,
                ended_at: ended_at.map(instant).transpose()?,
            })
        })
        .transpose()
    }

    /// Whether the account owns the call.
    pub async fn owns_call(&self, account_id: i64, call_id: CallId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM calls WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(call_id.get())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}

/// Adds a call's contribution (`sign` = 1) to its day's roll-up, or removes it (`sign` = -1).
pub(super) async fn add_to_daily_stats(
    conn: &mut sqlx::AnyConnection,
    call: &NewCall,
    sign: i64,
) -> StoreResult<()> {
    let flag = |b: bool| if b { sign } else { 0 };
    let day = call.started_at.div_euclid(DAY) * DAY;
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
    .bind(day)
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
