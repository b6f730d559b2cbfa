//! Every HTML page the server sends carries the one strict Content-Security-Policy: the
//! viewer at `/`, its `index.html`, and the public debug page.

use super::*;

use callscope_server::csp::VIEWER_CSP;
use callscope_server::live::LiveStore;
use common::{TestDb, TestServer};

backend_independent!(
    every_viewer_page_has_the_strict_csp,
    |db: TestDb| async move {
        let dist = std::env::temp_dir().join(format!("callscope_csp_{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html><title>v</title>").unwrap();
        let server =
            TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dist).await;
        for path in ["/", "/index.html", "/api/v1/call-debug/AAAA"] {
            let page = server
                .client
                .get(server.url(path))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), reqwest::StatusCode::OK, "{path}");
            assert!(
                page.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{path}"
            );
            assert_eq!(
                page.headers()
                    .get("content-security-policy")
                    .map(|v| v.to_str().unwrap()),
                Some(VIEWER_CSP),
                "{path}"
            );
        }
    }
);
