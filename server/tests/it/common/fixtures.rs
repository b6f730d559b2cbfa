//! Builders for stored test data.

use callscope_server::clock::{self, UnixTime};
use callscope_server::ids::{AccountId, AgentRowId};
use callscope_server::storage::{
    AgentRecord, NewAgent, NewCall, NewLatencyTurn, NewTranscriptEntry, Store,
};
use callscope_server::webhooks::events::for_new_call;
use callscope_shared::{AgentId, CallId, Minutes, Money, Role, ToolCall};

/// Now, from the wall clock: when a test's calls are stored (and their events queued).
pub fn now() -> UnixTime {
    clock::now()
}

/// Stores `call` now, queueing its events as the server would; returns its id.
pub async fn store_call(store: &Store, call: &NewCall) -> CallId {
    store
        .insert_call(call, now(), for_new_call)
        .await
        .expect("the call is stored")
}

pub async fn account(store: &Store, name: &str) -> AccountId {
    store
        .ensure_account(name, UnixTime(1_768_000_000))
        .await
        .unwrap()
}

pub async fn agent(store: &Store, account_id: AccountId, bits: u32) -> AgentRecord {
    store
        .insert_agent(&NewAgent {
            account_id,
            public_id: AgentId::from_bits(bits),
            name: format!("Agent {bits:x}"),
            rate_per_minute: Money::from_units(2500),
            recording_enabled: false,
            recording_rate_per_minute: Money::from_units(100),
            created_at: UnixTime(1_768_000_000),
        })
        .await
        .unwrap()
}

/// A completed, answered call with `turns` transcript entries (alternating roles, a tool call
/// on the second assistant entry) and latency on every assistant entry.
pub fn completed_call(
    account_id: AccountId,
    agent_id: AgentRowId,
    started_at: i64,
    turns: usize,
) -> NewCall {
    let transcript: Vec<NewTranscriptEntry> = (0..turns)
        .map(|i| NewTranscriptEntry {
            role: if i % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
            content: format!("entry {i}: call me at +31612345678"),
            offset_ms: i as i64 * 2_400,
            tool_calls: if i == 2 {
                vec![ToolCall {
                    name: "get_policy".into(),
                    arguments: serde_json::json!({"policy": "P-1"}),
                    result: Some("active".into()),
                }]
            } else {
                Vec::new()
            },
        })
        .collect();
    let latency = transcript
        .iter()
        .enumerate()
        .filter(|(_, e)| e.role == Role::Assistant)
        .enumerate()
        .map(|(n, (_, e))| NewLatencyTurn {
            turn: n as i64 + 1,
            offset_ms: e.offset_ms,
            llm_ttfb_ms: 200 + n as i64,
            tts_start_ms: 320 + n as i64,
            tts_ttfb_ms: 95,
        })
        .collect();
    NewCall {
        minutes_used: Minutes::from_units(212),
        rate_per_minute: Money::from_units(2500),
        total_cost: Money::from_units(5300),
        call_cost: Money::from_units(4664),
        metadata: serde_json::json!({"crm_id": 7}),
        extracted_data: serde_json::json!({"claim": true}),
        // Unique per call, as the provider's ids are (the column is unique).
        call_control_id: Some(format!("v3:abc-{:016x}", rand::random::<u64>())),
        ..NewCall::completed(
            account_id,
            agent_id,
            UnixTime(started_at),
            127,
            transcript,
            latency,
        )
    }
}

/// A webhook endpoint of `account` subscribed to every event (at an address nothing is
/// delivered to: tests read the outbox).
pub async fn endpoint(store: &Store, account: AccountId) {
    let keys = callscope_server::secrets::Keys::from_server_key(
        &callscope_server::secrets::ServerKey::generate(),
    );
    store
        .insert_endpoint(
            &callscope_server::storage::NewEndpoint {
                account_id: account,
                url: "https://hooks.example.com/in".into(),
                events: Vec::new(),
                secret_enc: callscope_server::webhooks::SigningSecret::generate()
                    .seal(&keys.webhook_secret)
                    .unwrap(),
                created_at: UnixTime(1),
            },
            callscope_server::webhooks::MAX_ENDPOINTS,
        )
        .await
        .unwrap()
        .expect("under the endpoint cap");
}
