//! `callscope simulate`: plays a voice pipeline against a running server, over the real
//! pipeline API (`/pipeline/v1/`). Each call rings, is answered, speaks the demo's
//! conversations turn by turn as they happen (the demo's scripts, tool calls, timing and
//! per-turn latency: `demo::live`), and hangs up. Every call carries a `call_control_id`
//! (`v3:sim-…`), so the server's telephony provider (the simulated one without a Telnyx
//! account) can end, transfer and gather on it; a call ended that way (`409` on the next
//! turn) is left as it ended.
//!
//! One line per step goes to the output: `<call_id> ringing`, `<call_id> in-progress`,
//! `<call_id> talking` (its first turn is stored), `<call_id> ended <ended_reason>`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use callscope_shared::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cli::{DbArgs, SimulateArgs};
use crate::demo::live::{LiveScript, live_script, profile_of, profiles};
use crate::storage::Store;

/// An agent the simulated calls go to, and the demo profile (script) it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAgent {
    /// `agent_…` or the numeric id.
    pub id: String,
    pub profile: usize,
}

/// What to play.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The server, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    pub token: String,
    pub agents: Vec<SimAgent>,
    /// Calls at once.
    pub calls: usize,
    /// Keep `calls` calls going until stopped (a new one starts as each ends).
    pub forever: bool,
    /// Times faster than real time (1: real time).
    pub speed: f64,
    /// How long the first call is on hold after its opening exchange (call time).
    pub hold: Duration,
    /// Seed of the conversations: call n plays `seed + n`.
    pub seed: u64,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// The calls created, in order.
    pub created: Vec<String>,
    /// Why calls failed midway (a server error, an unreachable server), one per call.
    pub failures: Vec<String>,
}

/// Where the step lines go.
pub type Output = Arc<dyn Fn(&str) + Send + Sync>;

/// `callscope simulate`: the agents from `--agent` (or the Demo account's, from the
/// database), played until done (or, with `--forever`, until SIGINT/SIGTERM).
pub async fn run_cli(db: &DbArgs, args: SimulateArgs) -> anyhow::Result<()> {
    let token = args
        .pipeline_token
        .split(',')
        .map(str::trim)
        .find(|t| !t.is_empty())
        .context("--pipeline-token is empty")?
        .to_owned();
    let agents = if args.agents.is_empty() {
        demo_agents(db).await?
    } else {
        args.agents
            .iter()
            .enumerate()
            .map(|(i, id)| SimAgent {
                id: id.clone(),
                profile: i % profiles(),
            })
            .collect()
    };
    let simulation = Simulation {
        base_url: args.base_url,
        token,
        agents,
        calls: args.calls as usize,
        forever: args.forever,
        speed: args.speed,
        hold: Duration::from_secs(args.hold),
        seed: args.seed.unwrap_or_else(rand::random),
    };
    let out: Output = Arc::new(|line| println!("{line}"));
    let report = run(simulation, out, crate::serve::shutdown_signal()).await?;
    anyhow::ensure!(
        report.failures.is_empty(),
        "{} of {} simulated calls failed; the first: {}",
        report.failures.len(),
        report.created.len(),
        report.failures.first().map_or("", String::as_str)
    );
    Ok(())
}

/// The Demo account's agents, each playing the demo profile it is named after.
async fn demo_agents(db: &DbArgs) -> anyhow::Result<Vec<SimAgent>> {
    let store = Store::connect(&db.database_url, 2)
        .await
        .context("connecting to the database (for the Demo agents; or pass --agent)")?;
    store.migrate().await.context("migrating the database")?;
    let listed = crate::agents::list(&store, crate::demo::ACCOUNT).await;
    store.close().await;
    let agents: Vec<SimAgent> = listed
        .context("finding the Demo agents (run `callscope demo` first, or pass --agent)")?
        .iter()
        .enumerate()
        .map(|(i, agent)| SimAgent {
            id: agent.public_id.to_string(),
            profile: profile_of(&agent.name).unwrap_or(i % profiles()),
        })
        .collect();
    anyhow::ensure!(
        !agents.is_empty(),
        "the Demo account has no agents (run `callscope demo` first, or pass --agent)"
    );
    Ok(agents)
}

/// Plays `simulation` until its calls are done or `stop` completes; then the calls still
/// live are hung up (`caller-hangup`), so none is left live.
pub async fn run(
    simulation: Simulation,
    out: Output,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<Report> {
    anyhow::ensure!(!simulation.agents.is_empty(), "no agents to call");
    anyhow::ensure!(
        simulation.speed.is_finite() && simulation.speed > 0.0,
        "--speed must be above 0"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("callscope-simulate/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let player = Arc::new(Player {
        http,
        base: simulation.base_url.trim_end_matches('/').to_owned(),
        simulation,
        out,
        live: Mutex::new(HashSet::new()),
        report: Mutex::new(Report::default()),
    });
    let mut slots = JoinSet::new();
    for slot in 0..player.simulation.calls {
        let player = player.clone();
        slots.spawn(async move { player.slot(slot).await });
    }
    let stopped = {
        let all_done = async { while slots.join_next().await.is_some() {} };
        tokio::select! {
            () = all_done => false,
            () = stop => true,
        }
    };
    if stopped {
        slots.abort_all();
        while slots.join_next().await.is_some() {}
        player.hang_up_all().await;
    }
    let report = std::mem::take(&mut *lock(&player.report));
    Ok(report)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

struct Player {
    http: reqwest::Client,
    base: String,
    simulation: Simulation,
    out: Output,
    /// Calls created and not yet ended by the simulator.
    live: Mutex<HashSet<String>>,
    report: Mutex<Report>,
}

/// A call the server says has ended (ended through the API, or transferred).
struct EndedElsewhere;

impl Player {
    /// One of the `calls` call slots: plays its calls in turn.
    async fn slot(&self, slot: usize) {
        let calls = self.simulation.calls;
        // Staggered, so calls do not speak in step.
        tokio::time::sleep(self.scaled(slot as i64 * 2_500)).await;
        for round in 0.. {
            let n = round * calls + slot;
            if let Err(e) = self.play(n).await {
                let error = format!("{e:#}");
                tracing::warn!(%error, "simulated call failed");
                lock(&self.report).failures.push(error);
            }
            if !self.simulation.forever {
                break;
            }
            tokio::time::sleep(self.scaled(1_000 + (n as i64 % 4) * 1_000)).await;
        }
    }

    /// Call time `ms` as real time.
    fn scaled(&self, ms: i64) -> Duration {
        Duration::from_secs_f64(ms.max(0) as f64 / 1_000.0 / self.simulation.speed)
    }

    /// Plays call number `n`.
    async fn play(&self, n: usize) -> anyhow::Result<()> {
        let agent = &self.simulation.agents[n % self.simulation.agents.len()];
        let seed = self.simulation.seed.wrapping_add(n as u64);
        let script = live_script(seed, agent.profile, crate::clock::now().secs(), n == 0);
        let hold_ms = if n == 0 {
            self.simulation.hold.as_millis() as i64
        } else {
            0
        };
        let body = json!({
            "agent_id": agent.id,
            "from_number": script.from_number,
            "to_number": script.to_number,
            "call_control_id": format!("v3:sim-{}", uuid::Uuid::new_v4()),
            "metadata": {"simulated": true},
        });
        let (status, call) = self.post("/calls", Some(&body)).await?;
        anyhow::ensure!(
            status == StatusCode::CREATED,
            "create: HTTP {status}: {call}"
        );
        let id = call["call_id"]
            .as_str()
            .context("create: no call_id")?
            .to_owned();
        lock(&self.report).created.push(id.clone());
        lock(&self.live).insert(id.clone());
        self.say(&format!("{id} ringing"));
        let played = self.converse(&id, &script, hold_ms).await;
        let reason = match &played {
            Ok(Ok(())) => script.ended_reason.as_str(),
            Ok(Err(EndedElsewhere)) => "caller-hangup",
            Err(_) => "error",
        };
        // The final record; a call ended elsewhere keeps its own end.
        let ended = self.end(&id, reason).await;
        lock(&self.live).remove(&id);
        let call = match (played, ended) {
            (Err(e), _) | (_, Err(e)) => return Err(e),
            (Ok(_), Ok(call)) => call,
        };
        self.say(&format!(
            "{id} ended {}",
            call["ended_reason"].as_str().unwrap_or("?")
        ));
        Ok(())
    }

    /// Answer, turns, silence up to the hang-up; `Err(EndedElsewhere)` when the server
    /// ended the call meanwhile.
    async fn converse(
        &self,
        id: &str,
        script: &LiveScript,
        hold_ms: i64,
    ) -> anyhow::Result<Result<(), EndedElsewhere>> {
        tokio::time::sleep(self.scaled(script.ring_ms)).await;
        let (status, answer) = self.post(&format!("/calls/{id}/answer"), None).await?;
        match status {
            StatusCode::OK => {}
            StatusCode::CONFLICT => return Ok(Err(EndedElsewhere)),
            _ => anyhow::bail!("answer: HTTP {status}: {answer}"),
        }
        self.say(&format!("{id} in-progress"));
        let answered = Instant::now();
        // The hold comes after the opening exchange (greeting and request).
        let shift = |i: usize| if i >= 2 { hold_ms } else { 0 };
        let mut assistant_turns = 0;
        for (i, entry) in script.entries.iter().enumerate() {
            let done_at = script.ends[i] + shift(i);
            tokio::time::sleep_until(answered + self.scaled(done_at)).await;
            let mut turn = json!({
                "seq": i + 1,
                "role": entry.role,
                "content": entry.content,
                "timestamp": (script.ring_ms + entry.offset_ms + shift(i)) as f64 / 1_000.0,
                "tool_calls": entry.tool_calls,
            });
            if entry.role == Role::Assistant {
                if let Some(l) = script.latency.get(assistant_turns) {
                    turn["llm_ttfb_ms"] = json!(l.llm_ttfb_ms);
                    turn["tts_start_ms"] = json!(l.tts_start_ms);
                    turn["tts_ttfb_ms"] = json!(l.tts_ttfb_ms);
                }
                assistant_turns += 1;
            }
            let (status, answer) = self
                .post(
                    &format!("/calls/{id}/turns"),
                    Some(&json!({"turns": [turn]})),
                )
                .await?;
            match status {
                StatusCode::OK => {}
                StatusCode::CONFLICT => return Ok(Err(EndedElsewhere)),
                _ => anyhow::bail!("turn {}: HTTP {status}: {answer}", i + 1),
            }
            if i == 0 {
                self.say(&format!("{id} talking"));
            }
        }
        let hang_up = script.duration_ms + shift(script.entries.len());
        tokio::time::sleep_until(answered + self.scaled(hang_up)).await;
        Ok(Ok(()))
    }

    /// Ends the call (as it stands when it ended already); the final call object.
    async fn end(&self, id: &str, reason: &str) -> anyhow::Result<Value> {
        let (status, call) = self
            .post(
                &format!("/calls/{id}/end"),
                Some(&json!({"ended_reason": reason})),
            )
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "end: HTTP {status}: {call}");
        Ok(call)
    }

    /// On stop: every call still live hangs up.
    async fn hang_up_all(&self) {
        let live: Vec<String> = lock(&self.live).drain().collect();
        for id in live {
            match self.end(&id, "caller-hangup").await {
                Ok(call) => self.say(&format!(
                    "{id} ended {}",
                    call["ended_reason"].as_str().unwrap_or("?")
                )),
                Err(e) => tracing::warn!(call = %id, error = %format!("{e:#}"),
                    "could not end a simulated call"),
            }
        }
    }

    fn say(&self, line: &str) {
        (self.out)(line);
    }

    /// POSTs `body` (none: an empty body) to the pipeline API.
    async fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}/pipeline/v1{path}", self.base);
        let mut request = self.http.post(&url).bearer_auth(&self.simulation.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}
