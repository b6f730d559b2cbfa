//! Agents: the voice assistants that take calls, each with a public `agent_` id.

use callscope_shared::{AgentId, Money};

use super::decode::Flag;
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub account_id: AccountId,
    pub public_id: AgentId,
    pub name: String,
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
    /// What recording costs per minute (`billing::DEFAULT_RECORDING_RATE` unless set).
    pub recording_rate_per_minute: Money,
    pub created_at: UnixTime,
}

/// A stored agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub id: AgentRowId,
    pub public_id: AgentId,
    pub account_id: AccountId,
    pub name: String,
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
    pub recording_rate_per_minute: Money,
}

const AGENT_COLUMNS: &str = "id, public_id, account_id, name, rate_per_minute_e4, recording_enabled, recording_rate_per_minute_e4";

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: AgentRowId,
    public_id: String,
    account_id: AccountId,
    name: String,
    rate_per_minute_e4: i64,
    recording_enabled: Flag,
    recording_rate_per_minute_e4: i64,
}

impl TryFrom<AgentRow> for AgentRecord {
    type Error = StoreError;

    fn try_from(r: AgentRow) -> StoreResult<Self> {
        Ok(AgentRecord {
            id: r.id,
            public_id: public_agent_id(&r.public_id)?,
            account_id: r.account_id,
            name: r.name,
            rate_per_minute: Money::from_units(r.rate_per_minute_e4),
            recording_enabled: r.recording_enabled.into(),
            recording_rate_per_minute: Money::from_units(r.recording_rate_per_minute_e4),
        })
    }
}

/// An agent's public id as stored.
pub(super) fn public_agent_id(text: &str) -> StoreResult<AgentId> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("agent public id {text:?}")))
}

impl Store {
    pub async fn insert_agent(&self, agent: &NewAgent) -> StoreResult<AgentRecord> {
        let row: AgentRow = sqlx::query_as(&format!(
            "INSERT INTO agents (public_id, account_id, name, rate_per_minute_e4, recording_enabled,
                recording_rate_per_minute_e4, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {AGENT_COLUMNS}"
        ))
        .bind(agent.public_id.as_str())
        .bind(agent.account_id)
        .bind(&agent.name)
        .bind(agent.rate_per_minute.units())
        .bind(agent.recording_enabled)
        .bind(agent.recording_rate_per_minute.units())
        .bind(agent.created_at)
        .fetch_one(self.pool())
        .await?;
        row.try_into()
    }

    /// An account's agent by its public id.
    pub async fn agent_by_public_id(
        &self,
        account_id: AccountId,
        public_id: &AgentId,
    ) -> StoreResult<Option<AgentRecord>> {
        let row: Option<AgentRow> = sqlx::query_as(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND public_id = $2"
        ))
        .bind(account_id)
        .bind(public_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(AgentRecord::try_from).transpose()
    }

    /// Every agent of an account, oldest first.
    pub async fn agents(&self, account_id: AccountId) -> StoreResult<Vec<AgentRecord>> {
        let rows: Vec<AgentRow> = sqlx::query_as(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(AgentRecord::try_from).collect()
    }

    /// An agent by its public id, whoever's it is (the pipeline names agents, not accounts).
    pub async fn agent_by_public_id_any(
        &self,
        public_id: &AgentId,
    ) -> StoreResult<Option<AgentRecord>> {
        let row: Option<AgentRow> = sqlx::query_as(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE public_id = $1"
        ))
        .bind(public_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(AgentRecord::try_from).transpose()
    }

    /// An agent by its numeric id, whoever's it is.
    pub async fn agent_by_id(&self, id: AgentRowId) -> StoreResult<Option<AgentRecord>> {
        let row: Option<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(AgentRecord::try_from).transpose()
    }
}
