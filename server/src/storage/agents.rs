//! Agents: the voice assistants that take calls, each with a public `agent_` id.

use callscope_shared::{AgentId, Money};
use sqlx::Row;

use super::{Store, StoreError, StoreResult};

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub account_id: i64,
    pub public_id: AgentId,
    pub name: String,
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
    pub created_at: i64,
}

/// A stored agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub id: i64,
    pub public_id: AgentId,
    pub account_id: i64,
    pub name: String,
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
}

const AGENT_COLUMNS: &str =
    "id, public_id, account_id, name, rate_per_minute_e4, CAST(recording_enabled AS INTEGER)";

fn agent_from_row(row: &sqlx::any::AnyRow) -> StoreResult<AgentRecord> {
    let public_id: String = row.get(1);
    Ok(AgentRecord {
        id: row.get(0),
        public_id: public_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("agent public id {public_id:?}")))?,
        account_id: row.get(2),
        name: row.get(3),
        rate_per_minute: Money::from_units(row.get(4)),
        recording_enabled: row.get::<i64, _>(5) != 0,
    })
}

impl Store {
    pub async fn insert_agent(&self, agent: &NewAgent) -> StoreResult<AgentRecord> {
        let row = sqlx::query(&format!(
            "INSERT INTO agents (public_id, account_id, name, rate_per_minute_e4, recording_enabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {AGENT_COLUMNS}"
        ))
        .bind(agent.public_id.as_str())
        .bind(agent.account_id)
        .bind(&agent.name)
        .bind(agent.rate_per_minute.units())
        .bind(agent.recording_enabled)
        .bind(agent.created_at)
        .fetch_one(self.pool())
        .await?;
        agent_from_row(&row)
    }

    /// An account's agent by its public id.
    pub async fn agent_by_public_id(
        &self,
        account_id: i64,
        public_id: &AgentId,
    ) -> StoreResult<Option<AgentRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND public_id = $2"
        ))
        .bind(account_id)
        .bind(public_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    /// Every agent of an account, oldest first.
    pub async fn agents(&self, account_id: i64) -> StoreResult<Vec<AgentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(agent_from_row).collect()
    }
}
