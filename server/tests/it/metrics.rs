//! `GET /metrics` on its own address: off the public port, in Prometheus's text format,
//! with the series the README lists moving as traffic flows. The recorder is global to the
//! test process, so figures are read as differences around this test's own requests.

use crate::common::{self, TestDb, TestServer, fixtures};

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use reqwest::StatusCode;

/// The value of the series `name{labels…}` whose label set contains every `label`, summed.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, number) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, r)) => (m, r),
                None => (series, ""),
            };
            (metric == name && labels.iter().all(|lab| rest.contains(lab)))
                .then(|| number.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

async fn scrape(server: &TestServer) -> String {
    let addr = server.metrics.expect("metrics are on");
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    r.text().await.unwrap()
}

both_backends!(
    metrics_count_requests_links_and_live_state,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = db.store.account_id("acme").await.unwrap().unwrap();
        let agent = fixtures::agent(&db.store, acme, 0x3e7_0001).await;
        let call = fixtures::store_call(
            &db.store,
            &fixtures::completed_call(acme, agent.id, 1_768_000_000, 4),
        )
        .await;
        let mut config = common::config();
        config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        let server =
            TestServer::start_with(db.store.clone(), LiveStore::in_process(), config).await;
        let metrics = server.metrics.unwrap();
        assert_ne!(metrics.port(), server.addr.port());
        // Not on the public port.
        let r = server
            .client
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        let before = scrape(&server).await;
        let route = |status: &'static str| {
            [
                "route=\"/v1/calls/{call_id}\"".to_owned(),
                "method=\"GET\"".to_owned(),
                format!("status=\"{status}\""),
            ]
        };
        let count = |text: &str, status| {
            let labels = route(status);
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            value(text, "callscope_http_requests_total", &labels)
        };
        for _ in 0..3 {
            let r = server.get(&format!("/v1/calls/{call}"), key.reveal()).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let r = server.get("/v1/calls/call_99999999", key.reveal()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // A link opened twice, and a miss.
        let (_, link) = common::status_and_json(
            server
                .get(&format!("/v1/calls/{call}/debug-link"), key.reveal())
                .await,
        )
        .await;
        let token = link["debug_token"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            let r = server
                .client
                .get(server.url(&callscope_shared::link::debug_path(&token)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        let r = server
            .client
            .get(server.url(&callscope_shared::link::debug_path("dbg_nope")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        let after = scrape(&server).await;
        assert!(
            count(&after, "200") - count(&before, "200") >= 3.0,
            "{after}"
        );
        assert!(
            count(&after, "404") - count(&before, "404") >= 1.0,
            "{after}"
        );
        // Routes by pattern: never a call id or a token in a label.
        assert!(!after.contains(&call.to_string()), "{after}");
        assert!(!after.contains(&token), "{after}");
        let histogram = value(
            &after,
            "callscope_http_request_duration_seconds_count",
            &["route=\"/v1/calls/{call_id}\""],
        );
        assert!(histogram >= 4.0, "{after}");
        let views = |t: &str| value(t, "callscope_debug_link_views_total", &[]);
        let misses = |t: &str| value(t, "callscope_debug_link_misses_total", &[]);
        assert!(views(&after) - views(&before) >= 2.0, "{after}");
        assert!(misses(&after) - misses(&before) >= 1.0, "{after}");
        // Read at the scrape: this test's database has no live call and an empty outbox.
        assert_eq!(value(&after, "callscope_live_calls", &[]), 0.0);
        assert_eq!(value(&after, "callscope_outbox_pending_jobs", &[]), 0.0);
        assert!(value(&after, "callscope_db_pool_connections", &["state=\"idle\""]) >= 0.0);
        assert!(
            after.contains("callscope_db_pool_connections{state=\"in_use\"}"),
            "{after}"
        );
    }
);
