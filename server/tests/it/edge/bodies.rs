//! A body where the route takes none is a 413 `This endpoint takes no request body`;
//! a declared body over the limit is a 413 before it is read (no `100 Continue`).

use super::*;

use callscope_server::app::BODY_LIMIT;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::live::LiveStore;
use common::{TestDb, TestServer};

const NOT_TAKEN: &str = "This endpoint takes no request body";

backend_independent!(
    a_body_where_the_route_takes_none_is_a_413,
    |db: TestDb| async move {
        let key = create_key(
            &db.store,
            "acme",
            KeyMode::Live,
            callscope_server::clock::UnixTime(1),
        )
        .await
        .unwrap();
        let dist = std::env::temp_dir().join(format!("callscope_edge_{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html><title>v</title>").unwrap();
        let server =
            TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dist).await;
        let auth = format!("Authorization: Bearer {}\r\n", key.reveal());
        let body_headers = [
            "Content-Length: 2\r\n\r\n{}",
            "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        ];
        for (method, path) in [
            ("GET", "/v1/calls"),
            ("GET", "/v1/calls/call_00000001"),
            ("GET", "/healthz"),
            ("DELETE", "/v1/webhooks/wh_00000001"),
            ("POST", "/v1/calls/call_00000001/debug-link/revoke"),
            ("POST", "/v1/webhooks/wh_00000001/test"),
            ("GET", "/api/v1/call-debug/AAAA"),
            ("GET", "/"),
            ("GET", "/index.html"),
        ] {
            for body in body_headers {
                let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}{body}");
                let answer = raw(server.addr, request.as_bytes()).await;
                assert_eq!(answer.status, 413, "{method} {path} {body:?}");
                assert_eq!(answer.json_error(), NOT_TAKEN, "{method} {path}");
            }
            // Without a body the same request is not refused for it.
            let request =
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
            assert_ne!(
                raw(server.addr, request.as_bytes()).await.status,
                413,
                "{method} {path}"
            );
        }

        // A wrong method stays a 405, an unknown API path a 404.
        let put =
            format!("PUT /v1/calls HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\n\r\n{{}}");
        assert_eq!(raw(server.addr, put.as_bytes()).await.status, 405);
        let unknown =
            format!("GET /v1/nope HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\n\r\n{{}}");
        assert_eq!(raw(server.addr, unknown.as_bytes()).await.status, 404);

        // The route that takes a body reads it (here: a JSON object lacking `url`).
        let create = format!(
            "POST /v1/webhooks HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n{{}}"
        );
        let answer = raw(server.addr, create.as_bytes()).await;
        assert_eq!(answer.status, 400);
        assert_ne!(answer.json_error(), NOT_TAKEN);
    }
);

backend_independent!(
    expect_continue_with_a_body_over_the_limit_gets_413_without_continue,
    |db: TestDb| async move {
        let key = create_key(
            &db.store,
            "acme",
            KeyMode::Live,
            callscope_server::clock::UnixTime(1),
        )
        .await
        .unwrap();
        let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        let expect = |path: &str, length: usize| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {length}\r\n\
                 Expect: 100-continue\r\n\r\n",
                key.reveal()
            )
        };

        let over = raw(
            server.addr,
            expect("/v1/webhooks", BODY_LIMIT + 1).as_bytes(),
        )
        .await;
        assert_eq!(over.status, 413, "the 413 comes first, no 100 Continue");
        assert_eq!(over.json_error(), "Request body too large");
        let not_taken = raw(
            server.addr,
            expect("/v1/calls/call_00000001/debug-link/revoke", 10).as_bytes(),
        )
        .await;
        assert_eq!(not_taken.status, 413);
        assert_eq!(not_taken.json_error(), NOT_TAKEN);

        // Within the limit the server asks for the body, and reads it.
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(expect("/v1/webhooks", 2).as_bytes())
            .await
            .unwrap();
        assert_eq!(read_response(&mut stream).await.status, 100);
        stream.write_all(b"{}").await.unwrap();
        assert_eq!(read_response(&mut stream).await.status, 400);
    }
);
