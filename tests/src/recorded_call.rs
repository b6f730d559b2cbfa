//! A completed call with a recording, written straight into a scratch database through the
//! server's own storage layer, its audio (silent MP3) put in the embedded recordings store
//! the server will serve from (`recordings/` beside the database).

use std::path::Path;

use callscope_server::recordings::RecordingStore;
use callscope_server::recordings::embedded::EmbeddedStore;
use callscope_server::recordings::mp3::silent_mp3;
use callscope_server::secrets::{Keys, ServerKey, default_key_file};
use callscope_server::storage::{NewCall, NewLatencyTurn, NewTranscriptEntry, Store};
use callscope_server::webhooks::events::for_new_call;
use callscope_shared::{CallId, Role};
use sqlx::Connection;

/// The recorded call's turns: seconds from the call's start.
pub const TURN_TIMES: [f64; 6] = [0.0, 2.4, 5.0, 9.5, 14.0, 18.2];
/// The call lasts 30 s; the provider started recording 1 s in, so the audio (29 s of
/// silence) runs from 0:01 to 0:30 on the call's clock.
pub const DURATION: i64 = 30;
pub const RECORDING_OFFSET: i64 = 1;
pub const AUDIO_MS: u32 = 29_000;

/// Inserts such a call into the demo account of the database in `dir` (the scratch
/// directory of `Server::demo_dir`) and its audio into the store beside it, under `key`.
pub async fn insert(dir: &Path, key: &str) -> CallId {
    let database_url = crate::Server::database_url(dir);
    let store = Store::connect(&database_url, 2).await.expect("connect");
    let account_id = store
        .account_id(callscope_server::demo::ACCOUNT)
        .await
        .expect("account lookup")
        .expect("the demo account exists: run the demo first");
    let agent_id = store.agents(account_id).await.expect("agents")[0].id;
    let transcript: Vec<NewTranscriptEntry> = TURN_TIMES
        .iter()
        .enumerate()
        .map(|(i, at)| NewTranscriptEntry {
            role: if i % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
            content: format!("Recorded line {}", i + 1),
            offset_ms: (at * 1000.0).round() as i64,
            tool_calls: vec![],
        })
        .collect();
    let latency = transcript
        .iter()
        .filter(|e| e.role == Role::Assistant)
        .enumerate()
        .map(|(n, e)| NewLatencyTurn {
            turn: n as i64 + 1,
            offset_ms: e.offset_ms,
            llm_ttfb_ms: 240,
            tts_start_ms: 360,
            tts_ttfb_ms: 110,
        })
        .collect();
    let now = callscope_server::clock::now();
    let started_at = now.plus(-DURATION - 600);
    let call = NewCall {
        recording_enabled: true,
        has_recording: true,
        recording_key: Some(key.to_owned()),
        ..NewCall::completed(
            account_id, agent_id, started_at, DURATION, transcript, latency,
        )
    };
    let call_id = store
        .insert_call(&call, now, for_new_call)
        .await
        .expect("insert call");
    store.close().await;
    // Where the provider said the recording started (storage has no writer for it yet:
    // recording capture sets it from `call.recording.saved`).
    let mut conn = sqlx::AnyConnection::connect(&database_url)
        .await
        .expect("connect");
    sqlx::query("UPDATE calls SET recording_started_at = $1 WHERE id = $2")
        .bind(started_at.plus(RECORDING_OFFSET).secs())
        .bind(call_id.get())
        .execute(&mut conn)
        .await
        .expect("set recording_started_at");
    conn.close().await.ok();

    let key_file = default_key_file(&database_url).expect("a file database has a key file");
    let server_key = ServerKey::load_or_create(&key_file).expect("server key");
    let recordings = RecordingStore::Embedded(EmbeddedStore::new(
        dir.join("recordings"),
        Keys::from_server_key(&server_key).recording_url,
    ));
    recordings
        .put(key, silent_mp3(AUDIO_MS), now.secs())
        .await
        .expect("store the audio");
    call_id
}
