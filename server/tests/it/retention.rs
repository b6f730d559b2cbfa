//! Recording retention (`recordings::retention`): stored recordings deleted 90 days after
//! their call, 7 days after the later of the suspension and the call on a suspended account;
//! live calls never. Passes run at instants the tests choose (the job's clock), on both
//! backends and both recordings stores (the embedded folder and the loopback S3). Several
//! passes at once delete each object once. The background job runs under `serve`'s
//! application and stops with it.
//!
//! The loopback S3 checks that a request was not signed longer ago than it is valid, by the
//! wall clock, so passes run at or after the wall clock's now (`World::t`): calls and
//! suspensions are placed before it instead.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::changes::Change;
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::ids::{AccountId, AgentRowId};
use callscope_server::live::LiveStore;
use callscope_server::operator;
use callscope_server::recordings::RecordingStore;
use callscope_server::recordings::embedded::EmbeddedStore;
use callscope_server::recordings::retention::{
    self, LEASE_SECS, RETENTION_SECS, SUSPENDED_RETENTION_SECS, Summary,
};
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{AccountStatus, DAY, RecordingState, Store};
use callscope_shared::{CallId, CallStatus, Money};
use common::fake_s3::{self, FakeS3};
use common::{TempDir, TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::Value;

const AUDIO: &[u8] = b"ID3\x04\x00\x00 not really MP3 frames";
const DELETED: &str = "Recording was deleted after its retention period";

/// Which recordings store a test runs against.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Embedded,
    S3,
}

/// A recordings store and a look inside it.
struct Bucket {
    store: RecordingStore,
    inside: Inside,
}

enum Inside {
    /// The store, and its folder (removed on drop).
    Embedded(EmbeddedStore, #[allow(dead_code)] TempDir),
    S3(FakeS3),
}

impl Bucket {
    async fn new(kind: Kind) -> Bucket {
        match kind {
            Kind::Embedded => {
                let dir = TempDir::new();
                let store = EmbeddedStore::new(
                    dir.0.join("recordings"),
                    Keys::from_server_key(&ServerKey::generate()).recording_url,
                );
                Bucket {
                    store: RecordingStore::Embedded(store.clone()),
                    inside: Inside::Embedded(store, dir),
                }
            }
            Kind::S3 => {
                let s3 = FakeS3::start(&[], &fake_s3::credentials()).await;
                Bucket {
                    store: RecordingStore::S3(fake_s3::recordings(s3.endpoint())),
                    inside: Inside::S3(s3),
                }
            }
        }
    }

    /// Whether the object `key` is in the store.
    fn holds(&self, key: &str) -> bool {
        match &self.inside {
            Inside::Embedded(store, _) => store.path_of(key).unwrap().is_file(),
            Inside::S3(s3) => s3.object(key).is_some(),
        }
    }

    /// The DELETE requests the loopback S3 received for `key` (`None` for the folder).
    fn deletes(&self, key: &str) -> Option<usize> {
        match &self.inside {
            Inside::Embedded(..) => None,
            Inside::S3(s3) => Some(s3.deletes(key)),
        }
    }

    /// Makes deleting `key` fail: S3 answers 500; in the folder, a directory stands where
    /// the file was, which removing a file cannot remove.
    fn break_deletes(&self, key: &str) {
        match &self.inside {
            Inside::Embedded(store, _) => {
                let path = store.path_of(key).unwrap();
                std::fs::remove_file(&path).unwrap();
                std::fs::create_dir_all(path.join("in-the-way")).unwrap();
            }
            Inside::S3(s3) => s3.fail_deletes(true),
        }
    }

    /// Undoes `break_deletes`, the object back in place.
    async fn mend(&self, key: &str) {
        match &self.inside {
            Inside::Embedded(store, _) => {
                std::fs::remove_dir_all(store.path_of(key).unwrap()).unwrap();
                self.store
                    .put(key, AUDIO.to_vec(), fixtures::now().secs())
                    .await
                    .unwrap();
            }
            Inside::S3(s3) => s3.fail_deletes(false),
        }
    }
}

/// A call with a stored recording.
#[derive(Debug, Clone)]
struct Recorded {
    call: CallId,
    key: String,
}

/// The account "acme" (an API key, an agent), another account "globex", a recordings
/// store, and `t`: the wall clock's now when the world was made.
struct World {
    store: Store,
    bucket: Bucket,
    acme: AccountId,
    agent: AgentRowId,
    globex: AccountId,
    globex_agent: AgentRowId,
    api_key: String,
    t: UnixTime,
    raw: sqlx::AnyPool,
}

/// One call's retention columns, read straight from the table.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct Row {
    recording_status: Option<String>,
    recording_key: Option<String>,
    recording_deleted_at: Option<i64>,
    recording_lease_until: Option<i64>,
}

impl World {
    async fn new(db: &TestDb, kind: Kind) -> World {
        let store = db.store.clone();
        let api_key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = store.account_id("acme").await.unwrap().unwrap();
        let globex = fixtures::account(&store, "globex").await;
        let agent = fixtures::agent(&store, acme, 1).await.id;
        let globex_agent = fixtures::agent(&store, globex, 2).await.id;
        World {
            raw: sqlx::AnyPool::connect(&db.url).await.unwrap(),
            store,
            bucket: Bucket::new(kind).await,
            acme,
            agent,
            globex,
            globex_agent,
            api_key: api_key.reveal().to_owned(),
            t: fixtures::now(),
        }
    }

    /// A finished call of acme's, over at `ended_at` after two hours, whose recording is
    /// stored (and costs 0.0100).
    async fn recorded(&self, ended_at: UnixTime) -> Recorded {
        self.recorded_with(self.acme, self.agent, ended_at, |_| {})
            .await
    }

    async fn recorded_with(
        &self,
        account: AccountId,
        agent: AgentRowId,
        ended_at: UnixTime,
        edit: impl FnOnce(&mut callscope_server::storage::NewCall),
    ) -> Recorded {
        let key = format!(
            "recordings/{}/call {:016x}.mp3",
            account.get(),
            rand::random::<u64>()
        );
        let mut call = fixtures::completed_call(account, agent, ended_at.secs() - 7_200, 4);
        call.duration_seconds = 7_200;
        call.ended_at = Some(ended_at);
        call.recording_enabled = true;
        call.has_recording = true;
        call.recording_key = Some(key.clone());
        call.recording_cost = Money::from_units(100);
        edit(&mut call);
        let id = fixtures::store_call(&self.store, &call).await;
        self.bucket
            .store
            .put(&key, AUDIO.to_vec(), fixtures::now().secs())
            .await
            .unwrap();
        assert!(self.bucket.holds(&key));
        Recorded { call: id, key }
    }

    /// One retention pass at `at`.
    async fn pass(&self, at: UnixTime) -> Summary {
        retention::run_once(&self.store, &self.bucket.store, at)
            .await
            .unwrap()
    }

    async fn row(&self, call: CallId) -> Row {
        sqlx::query_as(
            "SELECT recording_status, recording_key, recording_deleted_at, recording_lease_until
             FROM calls WHERE id = $1",
        )
        .bind(call.get())
        .fetch_one(&self.raw)
        .await
        .unwrap()
    }

    async fn suspended_at(&self, account: AccountId) -> Option<i64> {
        sqlx::query_scalar("SELECT suspended_at FROM accounts WHERE id = $1")
            .bind(account.get())
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    async fn set_status(&self, name: &str, status: AccountStatus, at: UnixTime) {
        operator::set_account_status(&self.store, name, status, at)
            .await
            .unwrap();
    }

    /// Asserts the recording is still stored: the object there, the call saying so.
    #[track_caller]
    fn assert_kept<'a>(
        &'a self,
        r: &'a Recorded,
        account: AccountId,
    ) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            assert!(
                self.bucket.holds(&r.key),
                "object of {} gone ({caller})",
                r.call
            );
            assert_eq!(
                self.store.recording_state(account, r.call).await.unwrap(),
                RecordingState::Available(r.key.clone()),
                "{} ({caller})",
                r.call
            );
            let call = self.store.get_call(account, r.call).await.unwrap().unwrap();
            assert!(call.has_recording, "{} ({caller})", r.call);
        }
    }

    /// Asserts the recording was deleted at `at`: the object gone (one DELETE, for S3), the
    /// call marked, the key and the cost kept.
    #[track_caller]
    fn assert_deleted<'a>(
        &'a self,
        r: &'a Recorded,
        account: AccountId,
        at: UnixTime,
    ) -> impl Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            assert!(
                !self.bucket.holds(&r.key),
                "object of {} kept ({caller})",
                r.call
            );
            if let Some(deletes) = self.bucket.deletes(&r.key) {
                assert_eq!(deletes, 1, "{} ({caller})", r.call);
            }
            assert_eq!(
                self.row(r.call).await,
                Row {
                    recording_status: Some("deleted".into()),
                    recording_key: Some(r.key.clone()),
                    recording_deleted_at: Some(at.secs()),
                    recording_lease_until: None,
                },
                "{} ({caller})",
                r.call
            );
            assert_eq!(
                self.store.recording_state(account, r.call).await.unwrap(),
                RecordingState::Deleted,
                "{} ({caller})",
                r.call
            );
            let call = self.store.get_call(account, r.call).await.unwrap().unwrap();
            assert!(!call.has_recording, "{} ({caller})", r.call);
            assert_eq!(call.recording_cost, Money::from_units(100), "{caller}");
        }
    }
}

fn deleted(n: usize) -> Summary {
    Summary {
        deleted: n,
        ..Summary::default()
    }
}

/// Runs `$body(db, kind)` on both backends with each recordings store.
macro_rules! every_store {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            both_backends!(embedded, |db: TestDb| ($body)(db, Kind::Embedded));
            both_backends!(s3, |db: TestDb| ($body)(db, Kind::S3));
        }
    };
}

every_store!(
    a_recording_is_kept_90_days_from_the_end_of_its_call_then_deleted,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let end = w.t;
        // Two hours long: counted from its end, not its start.
        let long = w.recorded(end).await;
        // No end recorded (a call that never connected): counted from its start.
        let unended = w
            .recorded_with(w.acme, w.agent, end, |c| {
                c.status = CallStatus::NoAnswer;
                c.started_at = end.plus(10);
                c.ended_at = None;
                c.duration_seconds = 0;
            })
            .await;
        let due = end.plus(RETENTION_SECS);

        let server = TestServer::start_with(
            w.store.clone(),
            LiveStore::in_process(),
            Config {
                recordings: Some(w.bucket.store.clone()),
                ..common::config()
            },
        )
        .await;
        let recording_route = |call: CallId| {
            let server = &server;
            let key = w.api_key.clone();
            async move {
                let response = server
                    .get(&format!("/v1/calls/{call}/recording"), &key)
                    .await;
                common::status_and_json(response).await
            }
        };
        let has_recording = |call: CallId| {
            let server = &server;
            let key = w.api_key.clone();
            async move {
                let response = server.get(&format!("/v1/calls/{call}"), &key).await;
                let (status, body) = common::status_and_json(response).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["recording_cost"], 0.01, "{body}");
                body["has_recording"].clone()
            }
        };
        assert_eq!(recording_route(long.call).await.0, StatusCode::OK);
        assert_eq!(has_recording(long.call).await, Value::Bool(true));

        // A second before: kept.
        assert_eq!(w.pass(due.plus(-1)).await, Summary::default());
        w.assert_kept(&long, w.acme).await;
        w.assert_kept(&unended, w.acme).await;

        let mut changes = w.store.changes().subscribe();
        assert_eq!(w.pass(due).await, deleted(1));
        w.assert_deleted(&long, w.acme, due).await;
        w.assert_kept(&unended, w.acme).await;
        let announced = tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .expect("the change is announced");
        assert_eq!(
            announced,
            Some(Change::Call {
                call_id: long.call,
                remote: false
            })
        );

        // Over HTTP: the call record stays, without its recording.
        assert_eq!(has_recording(long.call).await, Value::Bool(false));
        assert_eq!(
            recording_route(long.call).await,
            (StatusCode::NOT_FOUND, serde_json::json!({"error": DELETED}))
        );

        // Nothing more is due until the unended call's 90 days from its start.
        assert_eq!(w.pass(due).await, Summary::default());
        assert_eq!(w.pass(due.plus(9)).await, Summary::default());
        w.assert_kept(&unended, w.acme).await;
        assert_eq!(w.pass(due.plus(10)).await, deleted(1));
        w.assert_deleted(&unended, w.acme, due.plus(10)).await;
        assert_eq!(
            recording_route(unended.call).await,
            (StatusCode::NOT_FOUND, serde_json::json!({"error": DELETED}))
        );
        // Deleted once: later passes leave it be.
        assert_eq!(w.pass(due.plus(400 * DAY)).await, Summary::default());
        w.assert_deleted(&long, w.acme, due).await;
    }
);

every_store!(
    a_suspended_accounts_recordings_are_kept_7_days_from_the_later_of_suspension_and_call,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let s = w.t;
        let week = SUSPENDED_RETENTION_SECS;
        // Ended long before the suspension: 7 days from the suspension.
        let older = w.recorded(s.plus(-30 * DAY)).await;
        // Ended after it: 7 days from the call.
        let newer = w.recorded(s.plus(2 * DAY)).await;
        // 90 days from the call come first: they win.
        let nearly_due = w.recorded(s.plus(-89 * DAY)).await;
        // Another account's, as old as `older`: 90 days.
        let globex = w
            .recorded_with(w.globex, w.globex_agent, s.plus(-30 * DAY), |_| {})
            .await;

        w.set_status("acme", AccountStatus::Suspended, s).await;
        // Suspending again keeps the first instant.
        w.set_status("acme", AccountStatus::Suspended, s.plus(3 * DAY))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, Some(s.secs()));
        assert_eq!(w.suspended_at(w.globex).await, None);

        assert_eq!(w.pass(s.plus(DAY - 1)).await, Summary::default());
        assert_eq!(w.pass(s.plus(DAY)).await, deleted(1));
        w.assert_deleted(&nearly_due, w.acme, s.plus(DAY)).await;

        assert_eq!(w.pass(s.plus(week - 1)).await, Summary::default());
        w.assert_kept(&older, w.acme).await;
        assert_eq!(w.pass(s.plus(week)).await, deleted(1));
        w.assert_deleted(&older, w.acme, s.plus(week)).await;
        w.assert_kept(&newer, w.acme).await;

        assert_eq!(w.pass(s.plus(2 * DAY + week - 1)).await, Summary::default());
        assert_eq!(w.pass(s.plus(2 * DAY + week)).await, deleted(1));
        w.assert_deleted(&newer, w.acme, s.plus(2 * DAY + week))
            .await;

        // The active account's recording waits for its 90 days.
        w.assert_kept(&globex, w.globex).await;
        let globex_due = s.plus(-30 * DAY + RETENTION_SECS);
        assert_eq!(w.pass(globex_due.plus(-1)).await, Summary::default());
        assert_eq!(w.pass(globex_due).await, deleted(1));
        w.assert_deleted(&globex, w.globex, globex_due).await;
    }
);

every_store!(
    activating_an_account_restores_the_90_day_rule,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let t = w.t;
        let ended = t.plus(-30 * DAY);
        let old = w.recorded(ended).await;
        w.set_status("acme", AccountStatus::Suspended, t).await;
        w.set_status("acme", AccountStatus::Active, t.plus(DAY))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, None);

        // Past the 7 days the suspension would have given it: kept.
        assert_eq!(
            w.pass(t.plus(SUSPENDED_RETENTION_SECS)).await,
            Summary::default()
        );
        w.assert_kept(&old, w.acme).await;
        let due = ended.plus(RETENTION_SECS);
        assert_eq!(w.pass(due.plus(-1)).await, Summary::default());
        w.assert_kept(&old, w.acme).await;
        assert_eq!(w.pass(due).await, deleted(1));
        w.assert_deleted(&old, w.acme, due).await;
    }
);

every_store!(
    a_live_calls_recording_is_never_deleted,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let t = w.t;
        let live = |status: CallStatus| {
            move |c: &mut callscope_server::storage::NewCall| {
                c.status = status;
                c.started_at = t.plus(-400 * DAY);
                c.ended_at = None;
                c.disposition = None;
                c.ended_reason = None;
                c.duration_seconds = 0;
            }
        };
        let in_progress = w
            .recorded_with(w.acme, w.agent, t, live(CallStatus::InProgress))
            .await;
        let ringing = w
            .recorded_with(w.acme, w.agent, t, live(CallStatus::Ringing))
            .await;
        // Even on a long suspended account.
        w.set_status("acme", AccountStatus::Suspended, t.plus(-300 * DAY))
            .await;
        // A finished one beside them is deleted, so the pass did run over this account.
        let finished = w.recorded(t.plus(-400 * DAY)).await;

        assert_eq!(w.pass(t.plus(1_000 * DAY)).await, deleted(1));
        w.assert_deleted(&finished, w.acme, t.plus(1_000 * DAY))
            .await;
        w.assert_kept(&in_progress, w.acme).await;
        w.assert_kept(&ringing, w.acme).await;
        assert_eq!(w.bucket.deletes(&in_progress.key).unwrap_or(0), 0);
    }
);

every_store!(
    a_failed_delete_keeps_the_recording_and_a_pass_after_the_claim_retries_it,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let t = w.t;
        let r = w.recorded(t.plus(-RETENTION_SECS)).await;
        w.bucket.break_deletes(&r.key);

        let failed = Summary {
            failed: 1,
            ..Summary::default()
        };
        assert_eq!(w.pass(t).await, failed);
        assert_eq!(w.bucket.deletes(&r.key).unwrap_or(1), 1);
        assert_eq!(
            w.row(r.call).await,
            Row {
                recording_status: Some("stored".into()),
                recording_key: Some(r.key.clone()),
                recording_deleted_at: None,
                recording_lease_until: Some(t.plus(LEASE_SECS).secs()),
            }
        );
        assert_eq!(
            w.store.recording_state(w.acme, r.call).await.unwrap(),
            RecordingState::Available(r.key.clone())
        );

        // While the claim holds, no pass tries again, even once the store works again.
        w.bucket.mend(&r.key).await;
        assert_eq!(w.pass(t.plus(1)).await, Summary::default());
        assert_eq!(w.pass(t.plus(LEASE_SECS)).await, Summary::default());
        assert_eq!(w.bucket.deletes(&r.key).unwrap_or(1), 1);
        w.assert_kept(&r, w.acme).await;

        let retry = t.plus(LEASE_SECS + 1);
        assert_eq!(w.pass(retry).await, deleted(1));
        assert!(!w.bucket.holds(&r.key));
        assert_eq!(w.bucket.deletes(&r.key).unwrap_or(2), 2);
        assert_eq!(
            w.row(r.call).await,
            Row {
                recording_status: Some("deleted".into()),
                recording_key: Some(r.key.clone()),
                recording_deleted_at: Some(retry.secs()),
                recording_lease_until: None,
            }
        );
    }
);

every_store!(
    passes_running_at_once_delete_each_recording_once,
    |db: TestDb, kind| async move {
        let w = World::new(&db, kind).await;
        let t = w.t;
        // More than two batches, so each pass goes on while its batches come back full.
        let n = 2 * retention::BATCH as usize + 50;
        let mut due = Vec::with_capacity(n);
        for i in 0..n {
            due.push(w.recorded(t.plus(-RETENTION_SECS - i as i64)).await);
        }
        let kept = w.recorded(t.plus(-RETENTION_SECS + 1)).await;
        if let Inside::S3(s3) = &w.bucket.inside {
            s3.delay_deletes(Duration::from_millis(2));
        }

        // Another instance: its own pool on the same database, its own store client.
        let other = Store::connect(&db.url, 4).await.unwrap();
        let other_bucket = w.bucket.store.clone();
        let (a, b) = tokio::join!(
            retention::run_once(&w.store, &w.bucket.store, t),
            retention::run_once(&other, &other_bucket, t),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.deleted + b.deleted, n, "{a:?} {b:?}");
        assert_eq!(a.failed + b.failed, 0, "{a:?} {b:?}");
        assert!(
            a.claimed_elsewhere + b.claimed_elsewhere > 0,
            "the passes did not overlap, so this test shows nothing: {a:?} {b:?}"
        );
        for r in &due {
            w.assert_deleted(r, w.acme, t).await;
        }
        w.assert_kept(&kept, w.acme).await;
        other.close().await;
    }
);

both_backends!(
    suspending_records_the_first_instant_and_activating_clears_it,
    |db: TestDb| async move {
        let w = World::new(&db, Kind::Embedded).await;
        w.set_status("acme", AccountStatus::Suspended, UnixTime(100))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, Some(100));
        w.set_status("acme", AccountStatus::Suspended, UnixTime(200))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, Some(100));
        let key = callscope_server::auth::ApiKey::parse(&w.api_key).unwrap();
        let owner = w.store.find_api_key(&key.hash()).await.unwrap().unwrap();
        assert_eq!(owner.account_status, AccountStatus::Suspended);

        w.set_status("acme", AccountStatus::Active, UnixTime(300))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, None);
        let owner = w.store.find_api_key(&key.hash()).await.unwrap().unwrap();
        assert_eq!(owner.account_status, AccountStatus::Active);
        // Activating an active account changes nothing.
        w.set_status("acme", AccountStatus::Active, UnixTime(350))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, None);

        // A new suspension, a new instant.
        w.set_status("acme", AccountStatus::Suspended, UnixTime(400))
            .await;
        assert_eq!(w.suspended_at(w.acme).await, Some(400));
        assert_eq!(w.suspended_at(w.globex).await, None);
    }
);

both_backends!(
    accounts_suspended_before_instants_were_kept_get_one_at_the_upgrade,
    |db: TestDb| async move {
        let w = World::new(&db, Kind::Embedded).await;
        // As 0012 left them: suspended, with no instant; and an active account.
        sqlx::query("UPDATE accounts SET status = 'suspended', suspended_at = NULL WHERE id = $1")
            .bind(w.acme.get())
            .execute(&w.raw)
            .await
            .unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 13")
            .execute(&w.raw)
            .await
            .unwrap();
        let before = fixtures::now().secs();
        w.store.migrate().await.unwrap();
        let after = fixtures::now().secs();
        let at = w.suspended_at(w.acme).await.expect("an instant");
        assert!(
            (before..=after).contains(&at),
            "{before} <= {at} <= {after}"
        );
        assert_eq!(w.suspended_at(w.globex).await, None);
    }
);

// `serve`'s application runs the job: a pass at start, then one per interval, on the
// application's clock; it stops with the application.
backend_independent!(
    the_application_runs_retention_on_its_clock_and_stops_with_it,
    |db: TestDb| async move {
        let w = World::new(&db, Kind::Embedded).await;
        let r = w.recorded(w.t).await;
        let clock = ManualClock::new(w.t);
        let config = Config {
            recordings: Some(w.bucket.store.clone()),
            recording_retention_interval: Duration::from_millis(50),
            ..common::config()
        };
        let app = Application::builder(config)
            .store(w.store.clone())
            .live(LiveStore::in_process())
            .clock(Arc::new(clock.clone()))
            .build()
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));

        // Several passes run meanwhile; none deletes what is not due.
        tokio::time::sleep(Duration::from_millis(300)).await;
        w.assert_kept(&r, w.acme).await;

        clock.advance(RETENTION_SECS);
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while w.bucket.holds(&r.key)
                || w.row(r.call).await.recording_status.as_deref() != Some("deleted")
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "the job did not delete the due recording");
        w.assert_deleted(&r, w.acme, w.t.plus(RETENTION_SECS)).await;

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), serving)
            .await
            .expect("the application stops with the job running")
            .unwrap()
            .unwrap();
    }
);

// Interval 0: no job, however late it gets.
backend_independent!(
    an_interval_of_zero_runs_no_retention,
    |db: TestDb| async move {
        let w = World::new(&db, Kind::Embedded).await;
        let r = w.recorded(w.t.plus(-RETENTION_SECS)).await;
        let config = Config {
            recordings: Some(w.bucket.store.clone()),
            recording_retention_interval: Duration::ZERO,
            ..common::config()
        };
        let clock = ManualClock::new(w.t.plus(400 * DAY));
        let _server = TestServer::start_app(
            Application::builder(config)
                .store(w.store.clone())
                .live(LiveStore::in_process())
                .clock(Arc::new(clock)),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        w.assert_kept(&r, w.acme).await;
    }
);
