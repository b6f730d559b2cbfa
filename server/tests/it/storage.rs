//! The storage suite: the same behaviour on SQLite and PostgreSQL.

use crate::common;

use callscope_server::auth::{ApiKey, KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::ids::AgentRowId;
use callscope_server::storage::{AccountStatus, NewDelivery, Store};
use callscope_server::webhooks::events::for_new_call;
use callscope_shared::{AgentId, CallId, CallStatus, Money, Role};
use common::fixtures;

both_backends!(
    accounts_are_unique_by_name,
    |db: common::TestDb| async move {
        let a = db.store.ensure_account("acme", UnixTime(1)).await.unwrap();
        let again = db.store.ensure_account("acme", UnixTime(2)).await.unwrap();
        let other = db
            .store
            .ensure_account("globex", UnixTime(3))
            .await
            .unwrap();
        assert_eq!(a, again);
        assert_ne!(a, other);
        assert_eq!(db.store.account_id("acme").await.unwrap(), Some(a));
        assert_eq!(db.store.account_id("nobody").await.unwrap(), None);
    }
);

both_backends!(
    api_keys_find_revoke_and_suspend,
    |db: common::TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(10))
            .await
            .unwrap();
        let owner = db
            .store
            .find_api_key(&key.hash())
            .await
            .unwrap()
            .expect("key found");
        assert_eq!(
            Some(owner.account_id),
            db.store.account_id("acme").await.unwrap()
        );
        assert_eq!(owner.account_status, AccountStatus::Active);

        let unknown = ApiKey::generate(KeyMode::Live);
        assert!(
            db.store
                .find_api_key(&unknown.hash())
                .await
                .unwrap()
                .is_none()
        );

        db.store
            .set_account_status(owner.account_id, AccountStatus::Suspended, UnixTime(10))
            .await
            .unwrap();
        let suspended = db.store.find_api_key(&key.hash()).await.unwrap().unwrap();
        assert_eq!(suspended.account_status, AccountStatus::Suspended);

        db.store
            .revoke_api_key(owner.key_id, UnixTime(11))
            .await
            .unwrap();
        assert!(db.store.find_api_key(&key.hash()).await.unwrap().is_none());
    }
);

both_backends!(
    agents_are_scoped_to_their_account,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        let globex = fixtures::account(&db.store, "globex").await;
        let agent = fixtures::agent(&db.store, acme, 0x28c5_1f81).await;
        assert_eq!(agent.public_id.as_str(), "agent_28c51f81");
        assert_eq!(agent.rate_per_minute, Money::from_units(2500));
        let id = AgentId::from_bits(0x28c5_1f81);
        assert_eq!(
            db.store.agent_by_public_id(acme, &id).await.unwrap(),
            Some(agent.clone())
        );
        assert_eq!(
            db.store.agent_by_public_id(globex, &id).await.unwrap(),
            None
        );
        assert_eq!(db.store.agents(acme).await.unwrap(), vec![agent]);
    }
);

both_backends!(
    a_call_round_trips_every_field,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        let agent = fixtures::agent(&db.store, acme, 1).await;
        let new = fixtures::completed_call(acme, agent.id, 1_768_471_200, 6);
        let id = fixtures::store_call(&db.store, &new).await;
        let call = db.store.get_call(acme, id).await.unwrap().expect("stored");

        assert_eq!(call.call_id, id);
        assert_eq!(call.agent_id, agent.public_id);
        assert_eq!(call.status, CallStatus::Completed);
        assert_eq!(call.disposition, new.disposition);
        assert_eq!(call.ended_reason, new.ended_reason);
        assert_eq!(call.from_number, "+31612345678");
        assert_eq!(call.duration_seconds, 127);
        assert_eq!(call.minutes_used, new.minutes_used);
        assert_eq!(call.total_cost, Money::from_units(5300));
        assert_eq!(call.call_cost, Money::from_units(4664));
        assert_eq!(call.turn_count, 6);
        assert_eq!(call.tool_call_count, 1);
        assert_eq!(call.tools_called, vec!["get_policy".to_owned()]);
        assert_eq!(call.metadata, serde_json::json!({"crm_id": 7}));
        assert_eq!(call.extracted_data, serde_json::json!({"claim": true}));
        assert_eq!(call.started_at.to_string(), "2026-01-15T10:00:00Z");
        assert_eq!(call.ended_at.unwrap().to_string(), "2026-01-15T10:02:07Z");
        assert!(!call.has_recording && !call.ws_unavailable && !call.recording_enabled);

        let transcript = call.transcript.unwrap();
        assert_eq!(transcript.len(), 6);
        assert_eq!(transcript[1].role, Role::User);
        assert_eq!(transcript[1].timestamp, 2.4);
        assert_eq!(transcript[2].tool_calls[0].name, "get_policy");
        let latency = call.latency_data.unwrap().turns;
        assert_eq!(latency.len(), 3);
        assert_eq!(
            (
                latency[0].turn,
                latency[0].llm_ttfb_ms,
                latency[0].tts_start_ms
            ),
            (1, 200, 320)
        );
        assert_eq!(latency[1].ts, 4.8);
    }
);

both_backends!(
    another_accounts_call_is_invisible,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        let globex = fixtures::account(&db.store, "globex").await;
        let agent = fixtures::agent(&db.store, acme, 1).await;
        let id = fixtures::store_call(
            &db.store,
            &fixtures::completed_call(acme, agent.id, 1_768_471_200, 2),
        )
        .await;
        assert!(db.store.get_call(globex, id).await.unwrap().is_none());
        assert!(
            db.store
                .get_call(acme, CallId::new(id.get() + 1).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(db.store.count_calls(acme).await.unwrap(), 1);
        assert_eq!(db.store.count_calls(globex).await.unwrap(), 0);
    }
);

both_backends!(
    long_transcripts_keep_their_order,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        let agent = fixtures::agent(&db.store, acme, 1).await;
        let id = fixtures::store_call(
            &db.store,
            &fixtures::completed_call(acme, agent.id, 1_768_471_200, 1_203),
        )
        .await;
        let transcript = db.store.transcript(id).await.unwrap();
        assert_eq!(transcript.len(), 1_203);
        assert!(
            transcript
                .iter()
                .enumerate()
                .all(|(i, e)| e.content.starts_with(&format!("entry {i}:")))
        );
        assert_eq!(db.store.latency_turns(id).await.unwrap().len(), 602);
    }
);

both_backends!(
    a_failed_insert_leaves_nothing_behind,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        // An agent id that does not exist violates the foreign key: the whole call is refused.
        let bad = fixtures::completed_call(acme, AgentRowId(9_999), 1_768_471_200, 4);
        assert!(
            db.store
                .insert_call(&bad, fixtures::now(), for_new_call)
                .await
                .is_err()
        );
        assert_eq!(db.store.count_calls(acme).await.unwrap(), 0);
    }
);

both_backends!(
    deliveries_are_ordered_and_capped,
    |db: common::TestDb| async move {
        let acme = fixtures::account(&db.store, "acme").await;
        let agent = fixtures::agent(&db.store, acme, 1).await;
        let id = fixtures::store_call(
            &db.store,
            &fixtures::completed_call(acme, agent.id, 1_768_471_200, 2),
        )
        .await;
        let delivery = |created_at: i64, attempt: u32, success: bool| NewDelivery {
            account_id: acme,
            call_id: Some(id),
            event: "call.ended".into(),
            event_id: format!("evt-{created_at}"),
            url: "https://hooks.example.com/x".into(),
            attempt,
            status_code: if success { Some(200) } else { None },
            success,
            error: (!success).then(|| "timeout".to_owned()),
            created_at: UnixTime(created_at),
        };
        db.store
            .insert_delivery(&delivery(200, 2, true))
            .await
            .unwrap();
        db.store
            .insert_delivery(&delivery(100, 1, false))
            .await
            .unwrap();
        db.store
            .insert_delivery(&delivery(200, 1, false))
            .await
            .unwrap();
        let got = db.store.call_deliveries(id).await.unwrap();
        let order: Vec<(i64, u32)> = got
            .iter()
            .map(|d| (d.created_at.unix(), d.attempt))
            .collect();
        assert_eq!(order, vec![(100, 1), (200, 1), (200, 2)]);
        assert_eq!(got[0].status_code, None);
        assert_eq!(got[0].error.as_deref(), Some("timeout"));
        assert!(got[2].success);

        for i in 0..600 {
            db.store
                .insert_delivery(&delivery(1_000 + i, 1, true))
                .await
                .unwrap();
        }
        assert_eq!(db.store.call_deliveries(id).await.unwrap().len(), 500);
    }
);

/// The schema both migration sets leave behind, read back from a live database and
/// normalised: what must match between backends (not column types, which differ by design:
/// BOOLEAN against INTEGER, BYTEA against BLOB).
mod schema {
    use std::collections::{BTreeMap, BTreeSet};

    use sqlx::{Connection, PgConnection, SqliteConnection};

    /// An index. Indexes that back a PRIMARY KEY or UNIQUE constraint are named by each
    /// database after its own fashion (`sqlite_autoindex_…`, `…_key`), so they compare by
    /// columns alone (`name: None`); indexes the migrations create compare by name too.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Index {
        pub name: Option<String>,
        pub columns: Vec<String>,
        pub unique: bool,
        pub partial: bool,
    }

    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct Table {
        /// Column name → nullable.
        pub columns: BTreeMap<String, bool>,
        pub primary_key: Vec<String>,
        pub indexes: BTreeSet<Index>,
    }

    pub type Schema = BTreeMap<String, Table>;

    /// The bookkeeping table of sqlx's migrator is not ours.
    const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

    pub async fn sqlite(url: &str) -> Schema {
        let mut conn = SqliteConnection::connect(url).await.unwrap();
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name <> $1 ORDER BY name",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut schema = Schema::new();
        for (table,) in tables {
            let mut t = Table::default();
            let columns: Vec<(String, i64, i64)> =
                sqlx::query_as(r#"SELECT name, "notnull", pk FROM pragma_table_info($1)"#)
                    .bind(&table)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let mut pk: Vec<(i64, String)> = Vec::new();
            for (name, not_null, pk_pos) in columns {
                // A primary key column never holds NULL (PostgreSQL says so; SQLite does
                // not flag INTEGER PRIMARY KEY, the rowid).
                t.columns.insert(name.clone(), not_null == 0 && pk_pos == 0);
                if pk_pos > 0 {
                    pk.push((pk_pos, name));
                }
            }
            pk.sort();
            t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
            let indexes: Vec<(String, i64, String, i64)> = sqlx::query_as(
                r#"SELECT name, "unique", origin, partial FROM pragma_index_list($1)"#,
            )
            .bind(&table)
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for (name, unique, origin, partial) in indexes {
                if origin == "pk" {
                    continue;
                }
                let columns: Vec<(String,)> =
                    sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                        .bind(&name)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                t.indexes.insert(Index {
                    name: (origin == "c").then_some(name),
                    columns: columns.into_iter().map(|(c,)| c).collect(),
                    unique: unique != 0,
                    partial: partial != 0,
                });
            }
            schema.insert(table, t);
        }
        conn.close().await.ok();
        schema
    }

    /// One index as `pg_index` describes it.
    #[derive(sqlx::FromRow)]
    struct PgIndex {
        table_name: String,
        name: String,
        columns: Vec<String>,
        unique: bool,
        primary: bool,
        partial: bool,
        constraint_backed: bool,
    }

    pub async fn postgres(url: &str) -> Schema {
        let mut conn = PgConnection::connect(url).await.unwrap();
        let columns: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, is_nullable = 'YES'
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> $1",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut schema = Schema::new();
        for (table, column, nullable) in columns {
            schema
                .entry(table)
                .or_default()
                .columns
                .insert(column, nullable);
        }
        let indexes: Vec<PgIndex> = sqlx::query_as(
            "SELECT t.relname::text AS table_name, i.relname::text AS name,
                    ARRAY(SELECT a.attname::text
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                          ORDER BY k.ord) AS columns,
                    ix.indisunique AS unique, ix.indisprimary AS primary,
                    ix.indpred IS NOT NULL AS partial,
                    EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u'))
                        AS constraint_backed
             FROM pg_index ix
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND t.relname <> $1",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for ix in indexes {
            let t = schema.entry(ix.table_name).or_default();
            if ix.primary {
                t.primary_key = ix.columns;
                continue;
            }
            t.indexes.insert(Index {
                name: (!ix.constraint_backed).then_some(ix.name),
                columns: ix.columns,
                unique: ix.unique,
                partial: ix.partial,
            });
        }
        conn.close().await.ok();
        schema
    }
}

/// Both migration sets build the same schema: tables, columns, nullability, primary keys
/// and indexes (names, columns, uniqueness, partial or not), read from live databases.
#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let sqlite_db = common::TestDb::new(common::Kind::Sqlite).await;
    let pg_db = common::TestDb::new(common::Kind::Postgres).await;
    let sqlite = schema::sqlite(&sqlite_db.url).await;
    let postgres = schema::postgres(&pg_db.url).await;

    assert!(
        sqlite.contains_key("calls") && sqlite.len() >= 10,
        "{sqlite:#?}"
    );
    assert!(
        sqlite["debug_links"].indexes.contains(&schema::Index {
            name: Some("debug_links_one_live".into()),
            columns: vec!["call_id".into()],
            unique: true,
            partial: true,
        }),
        "the reader sees partial unique indexes: {:#?}",
        sqlite["debug_links"]
    );
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (name, table) in &sqlite {
        assert_eq!(Some(table), postgres.get(name), "table {name}");
    }
}

/// The SQLite database and its `-wal`/`-shm` files are private to the server's user (0600),
/// whether created now or found readable by others.
#[tokio::test]
async fn sqlite_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = std::env::temp_dir().join(format!(
        "callscope_modes_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let files = |db: &std::path::Path| {
        ["", "-wal", "-shm"].map(|suffix| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            std::path::PathBuf::from(path)
        })
    };

    // Created fresh (in a folder created too), under the usual umask.
    let fresh = dir.join("new").join("callscope.db");
    let store = Store::connect(&format!("sqlite://{}", fresh.display()), 2)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for path in files(&fresh) {
        assert_eq!(format!("{:o}", mode(&path)), "600", "{}", path.display());
    }
    store.close().await;

    // An existing database and WAL left readable by everyone are made owner-only.
    let old = dir.join("old.db");
    for path in files(&old).iter().take(2) {
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = Store::connect(&format!("sqlite://{}", old.display()), 2)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for path in files(&old) {
        assert_eq!(format!("{:o}", mode(&path)), "600", "{}", path.display());
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
