//! A very long call written straight into a scratch database through the server's own
//! storage layer, with a debug link issued under the server key `serve` will load.

use callscope_server::debug_link;
use callscope_server::secrets::{Keys, ServerKey, default_key_file};
use callscope_server::storage::{NewCall, NewLatencyTurn, NewTranscriptEntry, Store};
use callscope_server::webhooks::events::for_new_call;
use callscope_shared::{Money, Role, ToolCall};

/// Inserts a completed call of `turns` transcript entries (alternating assistant/user,
/// 3 s apart, every assistant turn with latency) into the demo account of the database at
/// `database_url`, and returns the public path of its debug link.
pub async fn insert(database_url: &str, turns: usize) -> String {
    let store = Store::connect(database_url, 2).await.expect("connect");
    let account_id = store
        .account_id(callscope_server::demo::ACCOUNT)
        .await
        .expect("account lookup")
        .expect("the demo account exists: run the demo first");
    let agent_id = store.agents(account_id).await.expect("agents")[0].id;
    let mut transcript = Vec::with_capacity(turns);
    let mut latency = Vec::new();
    for i in 0..turns {
        let offset_ms = i as i64 * 3_000;
        let assistant = i % 2 == 0;
        let n = i as i64 + 1;
        transcript.push(NewTranscriptEntry {
            role: if assistant {
                Role::Assistant
            } else {
                Role::User
            },
            content: if assistant {
                format!("Assistant line {n}: let me check that for you.")
            } else {
                format!("Caller line {n}: I still have a question about order {n}.")
            },
            offset_ms,
            tool_calls: if assistant && i % 50 == 0 {
                vec![ToolCall {
                    name: "lookup_order".into(),
                    arguments: serde_json::json!({ "order": n }),
                    result: None,
                }]
            } else {
                vec![]
            },
        });
        if assistant {
            let llm = 220 + (i as i64 * 37) % 600;
            latency.push(NewLatencyTurn {
                turn: latency.len() as i64 + 1,
                offset_ms,
                llm_ttfb_ms: llm,
                tts_start_ms: llm + 120,
                tts_ttfb_ms: 90 + (i as i64 * 13) % 150,
            });
        }
    }
    let duration = turns as i64 * 3;
    let now = callscope_server::clock::now();
    let started_at = now.plus(-duration - 600);
    let call = NewCall {
        from_number: "+31612345678".into(),
        to_number: "+31887654321".into(),
        rate_per_minute: Money::from_units(1_000),
        ..NewCall::completed(
            account_id, agent_id, started_at, duration, transcript, latency,
        )
    };
    let call_id = store
        .insert_call(&call, now, for_new_call)
        .await
        .expect("insert call");
    let key_file = default_key_file(database_url).expect("a file database has a key file");
    let key = ServerKey::load_or_create(&key_file).expect("server key");
    let link = debug_link::issue(
        &store,
        &Keys::from_server_key(&key).link_encryption,
        account_id,
        call_id,
        debug_link::IssueOptions::default(),
        now,
    )
    .await
    .expect("issue a debug link");
    store.close().await;
    link.url
}
