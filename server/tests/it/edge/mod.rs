//! The HTTP edge: what happens before (or instead of) routing. Slow and idle clients, the
//! connection cap and graceful drain; oversized request heads; bodies where none is taken;
//! the viewer pages' Content-Security-Policy. Raw `TcpStream`s where a client library
//! would hide the bytes on the wire.

use crate::common;

mod bodies;
mod connections;
mod csp;
mod head_limits;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` of a `{"error": …}` JSON body (asserting that shape).
    pub fn json_error(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let body: Value = serde_json::from_slice(&self.body).unwrap();
        let obj = body.as_object().unwrap();
        assert_eq!(obj.len(), 1, "exactly one field: {body}");
        obj["error"].as_str().unwrap().to_owned()
    }
}

/// Sends `request` as is on a new connection and reads one response.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_response(&mut stream).await
}

/// Reads one response (head, then `Content-Length` bytes or up to the close), in 5 s.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    try_read_response(stream, Duration::from_secs(5))
        .await
        .expect("a response within 5 s")
}

/// One response if it comes `within` that time.
pub async fn try_read_response(stream: &mut TcpStream, within: Duration) -> Option<RawResponse> {
    tokio::time::timeout(within, read_response_inner(stream))
        .await
        .ok()
}

async fn read_response_inner(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a full response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut body = buf[head_end..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    match length {
        Some(length) => {
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed inside the body");
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(length);
        }
        None if status == 100 || status == 204 || status == 304 => {}
        None => {
            stream.read_to_end(&mut body).await.unwrap();
        }
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

/// Whether the server closed `stream` within `within` (EOF or reset), reading and
/// discarding anything it sends.
pub async fn closed_within(mut stream: impl AsyncRead + Unpin, within: Duration) -> bool {
    let wait = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, wait).await.is_ok()
}
