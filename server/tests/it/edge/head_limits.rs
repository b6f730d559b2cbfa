//! Oversized request heads get the API's JSON error (414, 431) up to hyper's own, higher
//! limits, and so does a malformed or overlong first request line (read before hyper).

use super::*;

use callscope_server::live::LiveStore;
use callscope_server::request_limits::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use common::{TestDb, TestServer};

fn get(target: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra_headers}\r\n")
        .into_bytes()
}

backend_independent!(an_overlong_uri_is_a_json_414, |db: TestDb| async move {
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    // A parameter the route takes, so the request gets as far as authentication.
    let prefix = "/v1/calls?status=";
    let at_limit = format!("{prefix}{}", "a".repeat(MAX_URI_BYTES - prefix.len()));
    let routed = raw(server.addr, &get(&at_limit, "")).await;
    assert_eq!(routed.status, 401, "at the limit the request is routed");

    // Beyond hyper's own buffer the line is refused before hyper reads it: still JSON.
    for len in [MAX_URI_BYTES + 1, 60 * 1024, 70 * 1024] {
        let over = format!("{prefix}{}", "a".repeat(len - prefix.len()));
        let refused = raw(server.addr, &get(&over, "")).await;
        assert_eq!(refused.status, 414, "{len}");
        assert_eq!(refused.json_error(), "Request URI too long");
    }
});

backend_independent!(oversized_headers_are_a_json_431, |db: TestDb| async move {
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let one_big = format!("x-big: {}\r\n", "b".repeat(MAX_HEADER_BYTES));
    let many: String = (0..=MAX_HEADERS)
        .map(|i| format!("x-h{i}: 1\r\n"))
        .collect();
    for (what, headers) in [("one big field", &one_big), ("too many fields", &many)] {
        let refused = raw(server.addr, &get("/v1/calls", headers)).await;
        assert_eq!(refused.status, 431, "{what}");
        assert_eq!(refused.json_error(), "Request headers too large", "{what}");
    }
    let fine: String = (0..MAX_HEADERS - 5)
        .map(|i| format!("x-h{i}: 1\r\n"))
        .collect();
    assert_eq!(raw(server.addr, &get("/v1/calls", &fine)).await.status, 401);
});

backend_independent!(
    a_malformed_request_line_is_a_json_400,
    |db: TestDb| async move {
        let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        for line in [
            "GET\r\n\r\n",
            "GET /v1/calls HTTP/9.9\r\n\r\n",
            "G@T / HTTP/1.1\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "\x16\x03\x01\x00\x05hello\n",
        ] {
            let answer = raw(server.addr, line.as_bytes()).await;
            assert_eq!(answer.status, 400, "{line:?}");
            assert_eq!(
                answer.json_error(),
                "Malformed HTTP request line",
                "{line:?}"
            );
        }
        // Empty lines before the request line are allowed, and the line is served whole.
        let served = raw(
            server.addr,
            b"\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(served.status, 200, "{served:?}");
    }
);
