//! Agents service: creating and listing an account's agents (the command line's `agents`).

use callscope_shared::{AgentId, Money};
use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::secrets::{CryptoError, random_bytes};
use crate::storage::{AgentRecord, NewAgent, Store, StoreError};

/// Highest rate per minute accepted.
pub const MAX_RATE: Money = Money::from_units(1_000 * 10_000);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no account named {0:?} (create it with `keys create --account NAME`)")]
    NoAccount(String),
    #[error("--name must be 1 to 200 characters")]
    BadName,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `0.25`, `1`, `0.0125`: a non-negative decimal of at most 4 fractional digits, up to 1000.
pub fn parse_rate(text: &str) -> Result<Money, String> {
    let bad = || "must be a decimal like 0.25 (at most 4 decimals, 0 to 1000)".to_owned();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 4 || frac.len() > 4 || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
    let rate = Money::from_units(whole * 10_000 + frac);
    (rate <= MAX_RATE).then_some(rate).ok_or_else(bad)
}

/// What an agent is created with (besides its account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
    /// What recording costs per minute (`billing::DEFAULT_RECORDING_RATE` by default).
    pub recording_rate_per_minute: Money,
}

/// Creates an agent with a fresh random public id in the existing account `account`.
pub async fn create(
    store: &Store,
    account: &str,
    name: &str,
    rates: Rates,
    now: UnixTime,
) -> Result<AgentRecord, AgentError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AgentError::BadName);
    }
    let account_id = store
        .account_id(account)
        .await?
        .ok_or_else(|| AgentError::NoAccount(account.to_owned()))?;
    let mut attempt = 0;
    loop {
        let bits = u32::from_be_bytes(random_bytes()?);
        let new = NewAgent {
            account_id,
            public_id: AgentId::from_bits(bits),
            name: name.to_owned(),
            rate_per_minute: rates.rate_per_minute,
            recording_enabled: rates.recording_enabled,
            recording_rate_per_minute: rates.recording_rate_per_minute,
            created_at: now,
        };
        match store.insert_agent(&new).await {
            // 32 random bits: a clash with an existing public id is rare; draw again.
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.is_unique_violation() && attempt < 5 =>
            {
                attempt += 1;
            }
            other => return Ok(other?),
        }
    }
}

/// Every agent of the account `account`, oldest first.
pub async fn list(store: &Store, account: &str) -> Result<Vec<AgentRecord>, AgentError> {
    let account_id = store
        .account_id(account)
        .await?
        .ok_or_else(|| AgentError::NoAccount(account.to_owned()))?;
    Ok(store.agents(account_id).await?)
}

/// An agent as the command line prints it with `--json`.
pub fn to_json(agent: &AgentRecord) -> Value {
    json!({
        "agent_id": agent.public_id.as_str(),
        "id": agent.id.get(),
        "name": agent.name,
        "rate_per_minute": agent.rate_per_minute,
        "recording_enabled": agent.recording_enabled,
        "recording_rate_per_minute": agent.recording_rate_per_minute,
    })
}

/// An agent as one line of text: public id, numeric id, rate, recording, name.
pub fn to_line(agent: &AgentRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        agent.public_id,
        agent.id,
        agent.rate_per_minute,
        if agent.recording_enabled {
            "recording"
        } else {
            "no-recording"
        },
        agent.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(parse_rate("0.25"), Ok(Money::from_units(2_500)));
        assert_eq!(parse_rate("1"), Ok(Money::from_units(10_000)));
        assert_eq!(parse_rate("0.0125"), Ok(Money::from_units(125)));
        for bad in ["", ".5", "-1", "0.12345", "1e3", "1001", "abc", "0.2.5"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
