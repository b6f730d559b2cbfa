//! `callscope demo`: fills the account "Demo" with realistic, reproducible calls (same
//! seed and `--until` → same data), then prints a fresh API key and a call worth opening.
//! Every call it writes has ended; `live` gives `callscope simulate` its live calls from
//! the same scripts.
//!
//! `generate` plans everything without I/O; this module only writes the plan and reports.

pub(crate) mod costs;
mod deliveries;
mod dialogues;
mod facts;
mod generate;
mod latency;
pub mod live;
mod phones;
mod random;
mod scripts;
mod shapes;
mod talk;
mod timing;
mod tools;
mod window;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::time::Instant;

use callscope_shared::{Call, CallId, CallStatus, Disposition, EndedReason};
use serde::Serialize;

pub use generate::{Plan, PlannedAgent, PlannedCall, plan_calls};
pub use window::{UntilError, Window};

use crate::auth::{ApiKey, KeyMode, create_key};
use crate::cli::DemoArgs;
use crate::clock::{self, UnixTime};
use crate::config::server_key;
use crate::debug_link;
use crate::ids::{AccountId, AgentRowId};
use crate::secrets::Keys;
use crate::storage::{CallFilter, NewAgent, NewCall, NewDelivery, Position, Store, StoreResult};
use crate::webhooks::events::for_new_call;
use anyhow::Context;

/// The account the demo fills.
pub const ACCOUNT: &str = "Demo";
/// A call worth opening has at least this many transcript entries.
const DEBUG_MIN_ENTRIES: usize = 10;

/// What one demo run did.
#[derive(Debug)]
pub struct Outcome {
    pub api_key: ApiKey,
    pub account_id: AccountId,
    /// Calls in the account now.
    pub calls: i64,
    /// Calls written by this run.
    pub created: usize,
    /// A completed call with a rich transcript, if there is one.
    pub debug_call_id: Option<CallId>,
}

/// The `--json` output, fields in this order.
#[derive(Serialize)]
struct Report<'a> {
    api_key: &'a str,
    account: &'a str,
    calls: i64,
    created: usize,
    debug_call_id: Option<String>,
    debug_url: Option<String>,
}

/// `callscope demo`. Issues (or reuses) a debug link for the showcase call with the same
/// server key `serve` will use, so the printed link opens once the server runs.
pub async fn run(store: &Store, args: &DemoArgs, database_url: &str) -> anyhow::Result<()> {
    let window = Window::from_until(
        args.until.as_deref(),
        clock::now().secs(),
        i64::from(args.days),
    )?;
    let outcome = populate(store, args.seed, args.calls as usize, window, args.if_empty).await?;
    let base = args.base_url.trim_end_matches('/');
    let keys = Keys::from_server_key(&server_key(&args.key, database_url)?);
    let recorded = write_recordings(store, outcome.account_id, database_url, &keys).await?;
    let debug_url = match outcome.debug_call_id {
        Some(id) => {
            let key = &keys;
            let link = debug_link::issue(
                store,
                &key.link_encryption,
                outcome.account_id,
                id,
                debug_link::IssueOptions::default(),
                clock::now(),
            )
            .await
            .context("issuing the demo debug link")?;
            Some(format!("{base}{}", link.url))
        }
        None => None,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = Report {
            api_key: outcome.api_key.reveal(),
            account: ACCOUNT,
            calls: outcome.calls,
            created: outcome.created,
            debug_call_id: outcome.debug_call_id.map(|id| id.to_string()),
            debug_url: debug_url.clone(),
        };
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    let key = outcome.api_key.reveal();
    writeln!(out, "account:  {ACCOUNT}")?;
    writeln!(
        out,
        "calls:    {} written now, {} in the account",
        outcome.created, outcome.calls
    )?;
    if recorded > 0 {
        writeln!(
            out,
            "audio:    {recorded} recordings written (silence as long as each call)"
        )?;
    }
    writeln!(out, "api key:  {key}   (shown once)")?;
    writeln!(
        out,
        "list:     curl -H \"Authorization: Bearer {key}\" \"{base}/v1/calls?limit=5\""
    )?;
    if let Some(id) = outcome.debug_call_id {
        writeln!(out, "call:     {id} (a conversation with tool calls)")?;
        writeln!(
            out,
            "detail:   curl -H \"Authorization: Bearer {key}\" {base}/v1/calls/{id}"
        )?;
        writeln!(
            out,
            "link:     curl -H \"Authorization: Bearer {key}\" {base}/v1/calls/{id}/debug-link"
        )?;
    }
    if let Some(url) = debug_url {
        writeln!(
            out,
            "\nOpen this debug link in a browser (no API key needed):\n\n    {url}\n"
        )?;
    }
    Ok(())
}

/// Recordings the demo writes audio for: the newest ones (silence at 1 KB/s, so ~20 MB).
pub const DEMO_RECORDINGS: i64 = 100;

/// Writes silent MP3s for the newest [`DEMO_RECORDINGS`] demo calls with a recording into
/// the embedded store's default folder (beside a SQLite database; none on PostgreSQL), so
/// their recording URLs play. Files already there are kept. Returns how many were written.
async fn write_recordings(
    store: &Store,
    account_id: AccountId,
    database_url: &str,
    keys: &Keys,
) -> anyhow::Result<usize> {
    let Some(dir) = crate::recordings::store::default_recordings_dir(database_url) else {
        return Ok(0);
    };
    let folder = crate::recordings::embedded::EmbeddedStore::new(dir, keys.recording_url);
    let mut written = 0;
    for (key, duration) in store.stored_recordings(account_id, DEMO_RECORDINGS).await? {
        if folder.path_of(&key).is_some_and(|path| path.is_file()) {
            continue;
        }
        let ms = (duration.clamp(1, 600) * 1000) as u32;
        folder
            .put(&key, &crate::recordings::mp3::silent_mp3(ms))
            .await
            .with_context(|| format!("writing the demo recording {key}"))?;
        written += 1;
    }
    Ok(written)
}

/// Writes the plan for `seed`/`calls`/`window` into Demo (unless `if_empty` and Demo has
/// calls), then creates a fresh live API key.
pub async fn populate(
    store: &Store,
    seed: u64,
    calls: usize,
    window: Window,
    if_empty: bool,
) -> anyhow::Result<Outcome> {
    let account_id = store
        .ensure_account(ACCOUNT, UnixTime(window.start))
        .await?;
    let existing = store.count_calls(account_id).await?;
    let (created, debug_call_id) = if if_empty && existing > 0 {
        tracing::info!(existing, "Demo already has calls; writing nothing");
        (0, find_debug_call(store, account_id).await?)
    } else {
        let plan = Plan::new(seed, calls, window);
        write(store, account_id, &plan).await?
    };
    let api_key = create_key(store, ACCOUNT, KeyMode::Live, clock::now()).await?;
    Ok(Outcome {
        api_key,
        account_id,
        calls: existing + created as i64,
        created,
        debug_call_id,
    })
}

/// The Demo agents' database ids, in plan order. Agents are matched by name, so a second
/// run (another seed) adds calls to the same three agents.
async fn ensure_agents(
    store: &Store,
    account_id: AccountId,
    plan: &Plan,
) -> StoreResult<Vec<AgentRowId>> {
    let existing = store.agents(account_id).await?;
    let mut ids = Vec::with_capacity(plan.agents.len());
    for agent in &plan.agents {
        let id = match existing.iter().find(|a| a.name == agent.profile.name) {
            Some(found) => found.id,
            None => {
                store
                    .insert_agent(&new_agent(account_id, agent, plan.window))
                    .await?
                    .id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

fn new_agent(account_id: AccountId, agent: &PlannedAgent, window: Window) -> NewAgent {
    NewAgent {
        account_id,
        public_id: agent.public_id.clone(),
        name: agent.profile.name.to_owned(),
        rate_per_minute: agent.profile.rate_per_minute,
        recording_enabled: agent.profile.recording_enabled,
        recording_rate_per_minute: crate::billing::DEFAULT_RECORDING_RATE,
        created_at: UnixTime(window.start - 7 * 86_400),
    }
}

/// What makes a call worth opening.
#[derive(Debug, Clone, Copy)]
struct Showcase {
    status: CallStatus,
    disposition: Option<Disposition>,
    ended_reason: Option<EndedReason>,
    entries: usize,
    tool_calls: usize,
    ws_unavailable: bool,
}

/// The best rank `Showcase::rank` gives.
const BEST_RANK: u8 = 4;

impl Showcase {
    fn of_new(call: &NewCall) -> Self {
        Self {
            status: call.status,
            disposition: call.disposition,
            ended_reason: call.ended_reason,
            entries: call.transcript.len(),
            tool_calls: call.tool_call_count(),
            ws_unavailable: call.ws_unavailable,
        }
    }

    fn of_stored(call: &Call) -> Self {
        Self {
            status: call.status,
            disposition: call.disposition,
            ended_reason: call.ended_reason,
            entries: call.turn_count as usize,
            tool_calls: call.tool_call_count as usize,
            ws_unavailable: call.ws_unavailable,
        }
    }

    /// 0 for calls not worth showing (not a completed, answered call with at least 10
    /// entries); then one point each for tool calls, a normal hang-up, a healthy socket.
    fn rank(self) -> u8 {
        if self.status != CallStatus::Completed
            || self.disposition != Some(Disposition::Answered)
            || self.entries < DEBUG_MIN_ENTRIES
        {
            return 0;
        }
        let clean_end = matches!(
            self.ended_reason,
            Some(EndedReason::CallerHangup | EndedReason::AgentHangup)
        );
        1 + u8::from(self.tool_calls > 0) + u8::from(clean_end) + u8::from(!self.ws_unavailable)
    }
}

/// Inserts agents, calls (in time order, one transaction each) and their deliveries.
/// Returns how many calls were written and the most recent best call to show.
async fn write(
    store: &Store,
    account_id: AccountId,
    plan: &Plan,
) -> StoreResult<(usize, Option<CallId>)> {
    let started = Instant::now();
    let agent_ids = ensure_agents(store, account_id, plan).await?;
    let mut best: Option<(u8, CallId)> = None;
    let mut written = 0;
    for PlannedCall {
        agent,
        mut call,
        deliveries,
    } in plan.calls()
    {
        call.account_id = account_id;
        call.agent_id = agent_ids[agent];
        // Control ids are unique across the database and a seed may be written twice: the
        // written id is salted per run (the plan itself stays the seed's).
        call.call_control_id = call.call_control_id.map(salted);
        let now = clock::now();
        let id = store.insert_call(&call, now, for_new_call).await?;
        let rank = Showcase::of_new(&call).rank();
        if rank > 0 && best.is_none_or(|(r, _)| rank >= r) {
            best = Some((rank, id));
        }
        for d in deliveries {
            store
                .insert_delivery(&NewDelivery {
                    account_id,
                    call_id: Some(id),
                    event: d.event.to_owned(),
                    event_id: d.event_id,
                    url: deliveries::WEBHOOK_URL.to_owned(),
                    attempt: d.attempt,
                    status_code: d.status_code,
                    success: d.success,
                    error: d.error.map(str::to_owned),
                    created_at: UnixTime(d.created_at),
                })
                .await?;
        }
        written += 1;
    }
    tracing::info!(
        calls = written,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo data written"
    );
    Ok((written, best.map(|(_, id)| id)))
}

/// For `--if-empty` on a filled account: the newest call of the best rank, looking
/// through a few pages at most.
async fn find_debug_call(store: &Store, account_id: AccountId) -> StoreResult<Option<CallId>> {
    let filter = CallFilter {
        status: Some(CallStatus::Completed),
        disposition: Some(Disposition::Answered),
        ..CallFilter::default()
    };
    let mut after = None;
    let mut best: Option<(u8, CallId)> = None;
    for _ in 0..20 {
        let (page, has_more) = store.list_calls(account_id, &filter, after, 100).await?;
        for call in &page {
            let rank = Showcase::of_stored(call).rank();
            if rank == BEST_RANK {
                return Ok(Some(call.call_id));
            }
            if rank > 0 && best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, call.call_id));
            }
        }
        match page.last() {
            Some(last) if has_more => {
                after = Some(Position {
                    started_at: last.started_at.unix(),
                    id: last.call_id.get(),
                })
            }
            _ => break,
        }
    }
    Ok(best.map(|(_, id)| id))
}

/// A demo control id made unique to this run: `v3:<planned hex>-<random hex>`.
fn salted(planned: String) -> String {
    let salt: [u8; 8] = rand::random();
    let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    format!("{planned}-{hex}")
}
