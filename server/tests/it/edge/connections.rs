//! Connections: slow and idle clients are cut off after the header read timeout while
//! others are served; over the cap, connections wait for a free slot; shutdown lets the
//! requests in flight finish.

use super::*;

use std::time::Instant;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::config::Config;
use callscope_server::live::LiveStore;
use common::{TestDb, TestServer};

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

backend_independent!(
    a_client_trickling_headers_is_cut_off_while_others_are_served,
    |db: TestDb| async move {
        let config = Config {
            header_read_timeout: Duration::from_secs(1),
            ..common::config()
        };
        let server =
            TestServer::start_with(db.store.clone(), LiveStore::in_process(), config).await;
        let started = Instant::now();
        let idle = TcpStream::connect(server.addr).await.unwrap();
        let (slow_read, mut slow_write) =
            TcpStream::connect(server.addr).await.unwrap().into_split();
        slow_write
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // One more header line every 200 ms, never the blank line that ends the head.
        let trickle = tokio::spawn(async move {
            for i in 0.. {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let line = format!("x-slow-{i}: 1\r\n");
                if slow_write.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        // Meanwhile everyone else is served.
        for _ in 0..3 {
            let ok = server
                .client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap();
            assert_eq!(ok.status(), reqwest::StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let (slow_closed, idle_closed) = tokio::join!(
            closed_within(slow_read, Duration::from_secs(4)),
            closed_within(idle, Duration::from_secs(4)),
        );
        let elapsed = started.elapsed();
        trickle.abort();
        assert!(slow_closed, "a client trickling headers is cut off");
        assert!(idle_closed, "a client sending nothing is cut off");
        assert!(
            elapsed >= Duration::from_millis(900),
            "not before the timeout: {elapsed:?}"
        );
    }
);

backend_independent!(
    connections_over_the_cap_wait_for_a_free_slot,
    |db: TestDb| async move {
        let config = Config {
            max_connections: 2,
            ..common::config()
        };
        let server =
            TestServer::start_with(db.store.clone(), LiveStore::in_process(), config).await;
        let mut first = TcpStream::connect(server.addr).await.unwrap();
        first.write_all(HEALTHZ).await.unwrap();
        assert_eq!(read_response(&mut first).await.status, 200);
        let second = TcpStream::connect(server.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Both slots are taken: the third connects (the kernel's backlog) but waits.
        let mut third = TcpStream::connect(server.addr).await.unwrap();
        third.write_all(HEALTHZ).await.unwrap();
        assert!(
            try_read_response(&mut third, Duration::from_millis(700))
                .await
                .is_none(),
            "a connection over the cap is not served while the others are open"
        );
        // The open ones keep working.
        first.write_all(HEALTHZ).await.unwrap();
        assert_eq!(read_response(&mut first).await.status, 200);

        drop(second);
        assert_eq!(
            read_response(&mut third).await.status,
            200,
            "served once a slot is free"
        );
    }
);

backend_independent!(
    shutdown_lets_requests_in_flight_finish,
    |db: TestDb| async move {
        let key = create_key(
            &db.store,
            "acme",
            KeyMode::Live,
            callscope_server::clock::UnixTime(1),
        )
        .await
        .unwrap();
        let app = Application::builder(common::config())
            .store(db.store.clone())
            .live(LiveStore::in_process())
            .build()
            .await
            .unwrap();
        let addr = app.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));

        // A request whose handler is waiting for its body when shutdown begins.
        let mut in_flight = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n",
            key.reveal()
        );
        in_flight.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        assert!(
            TcpStream::connect(addr).await.is_err(),
            "nothing new is accepted"
        );
        in_flight.write_all(b"{}").await.unwrap();
        let answer = read_response(&mut in_flight).await;
        assert_eq!(answer.status, 400, "the request was answered: {answer:?}");
        tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("serving ends once the request is answered")
            .unwrap()
            .unwrap();
    }
);
