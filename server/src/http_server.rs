//! Serving the router over TCP: our own accept loop around hyper's HTTP/1 connection,
//! because `axum::serve` sets no timer (so hyper's header read timeout never runs) and has
//! no connection cap. Without them a client that sends one header line every few seconds
//! (slowloris), or just connects and waits, holds a connection forever, and enough of them
//! exhaust the process's file descriptors.
//!
//! - **Header read timeout**: a request's line and headers must arrive within
//!   `header_read_timeout` of hyper starting to read them, idle keep-alive time included;
//!   otherwise the connection is closed (no response: there is no request to answer).
//! - **Connection cap**: at most `max_connections` connections are served at once. When
//!   all are taken the loop stops accepting, so further connections wait in the kernel's
//!   listen backlog (not refused) and are served as soon as one closes; the header read
//!   timeout bounds how long an idle or slow client can hold a slot.
//! - **Graceful shutdown**: once `shutdown` completes nothing more is accepted, idle
//!   connections close, and requests in flight finish before `serve` returns.
//!
//! - **The first request line** is read by us before hyper takes the connection, so a
//!   malformed or overlong one gets the API's JSON error (`request_line`).
//!
//! Every request carries `ConnectInfo<SocketAddr>` (the TCP peer), as with
//! `into_make_service_with_connect_info`: the public debug endpoint limits misses per client.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::request_line::{FirstLine, Prefixed, read_first_line, refuse};

/// Header fields hyper parses per request. Above `request_limits::MAX_HEADERS` so that a
/// request with too many fields still reaches the router and gets our JSON 431; beyond
/// this hyper answers a bare 431 itself.
const HYPER_MAX_HEADERS: usize = 256;

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's line and headers.
    pub header_read_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests
/// in flight (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(HYPER_MAX_HEADERS);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        // A free slot first: while none is, connections stay in the listen backlog.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    handle_accept_error(err).await;
                    continue;
                }
            },
        };
        // Responses are written whole; don't hold the last segment back (Nagle).
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let (http, watcher, mut stopping) = (http.clone(), graceful.watcher(), stopping.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let mut stream = stream;
            // The first request line is ours to check (see `request_line`); a shutdown
            // while it is still coming closes the connection, as hyper closes idle ones.
            let first = tokio::select! {
                first = read_first_line(&mut stream, limits.header_read_timeout) => first,
                _ = stopping.changed() => FirstLine::Nothing,
            };
            let FirstLine::Ok(prefix) = first else {
                refuse(&mut stream, &first).await;
                return;
            };
            let io = TokioIo::new(Prefixed::new(prefix, stream));
            if let Err(err) = watcher.watch(http.serve_connection(io, service)).await {
                // Header timeouts, resets and malformed requests: the client's doing.
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }

    // Stop accepting: connections still in the backlog are refused from here on.
    drop(listener);
    let _ = stop.send(true);
    graceful.shutdown().await;
    Ok(())
}

/// A failed accept of one connection (reset before we took it) is that client's problem;
/// anything else (out of file descriptors) is ours, so log it and pause instead of spinning.
async fn handle_accept_error(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
