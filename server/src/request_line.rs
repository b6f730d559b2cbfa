//! The first request line of a connection, read before hyper sees the connection, so that
//! a malformed or overlong one gets the API's JSON error. hyper answers those itself with
//! an empty body and offers no hook to shape that answer; reading the line first (and then
//! handing hyper the connection with the line put back, `Prefixed`) is the one place where
//! our code can answer instead.
//!
//! Only the first request of a connection is checked here: a malformed request later on a
//! kept-alive connection still gets hyper's bare 400 (README).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use callscope_shared::ErrorBody;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::error::messages;

/// The longest request line read here: hyper's own buffer for a request head. Longer URIs
/// up to this reach the router, whose lower limit answers them (`request_limits`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What the first bytes of a connection held.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstLine {
    /// A well-formed request line (and whatever followed it in the same reads).
    Ok(Vec<u8>),
    /// Not `METHOD SP target SP HTTP/1.x`.
    Malformed,
    /// No line end within `MAX_LINE_BYTES`.
    TooLong,
    /// The client closed, or sent nothing in time: nothing to answer.
    Nothing,
}

/// Reads until the first line is complete (or too long, or the client stops).
pub async fn read_first_line(stream: &mut TcpStream, within: Duration) -> FirstLine {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            // Empty lines before the request line are ignored (RFC 9112 §2.2).
            let start = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if let Some(end) = buf[start..].iter().position(|&b| b == b'\n') {
                return if is_request_line(&buf[start..start + end]) {
                    FirstLine::Ok(std::mem::take(&mut buf))
                } else {
                    FirstLine::Malformed
                };
            }
            if buf.len() > MAX_LINE_BYTES {
                return FirstLine::TooLong;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return FirstLine::Nothing,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .unwrap_or(FirstLine::Nothing)
}

/// `METHOD SP request-target SP HTTP/1.0|1.1`, optionally ending in CR (RFC 9112 §3).
fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    !method.is_empty()
        && method.iter().all(tchar)
        && !target.is_empty()
        && target.iter().all(|&b| b > b' ' && b != 0x7f)
        && matches!(version, b"HTTP/1.0" | b"HTTP/1.1")
}

/// Answers a first line that cannot be served with the JSON error, and closes.
pub async fn refuse(stream: &mut TcpStream, line: &FirstLine) {
    let (status, message) = match line {
        FirstLine::Malformed => (StatusCode::BAD_REQUEST, messages::MALFORMED_REQUEST),
        FirstLine::TooLong => (StatusCode::URI_TOO_LONG, messages::URI_TOO_LONG),
        FirstLine::Ok(_) | FirstLine::Nothing => return,
    };
    let body = serde_json::to_string(&ErrorBody::new(message)).unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A connection whose first bytes were already read: they are read again first.
pub struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl Prefixed {
    pub fn new(prefix: Vec<u8>, inner: TcpStream) -> Self {
        Self {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_method_target_and_http_1() {
        for good in [
            &b"GET / HTTP/1.1"[..],
            b"GET /v1/calls?limit=5 HTTP/1.1\r",
            b"DELETE /v1/webhooks/wh_00000001 HTTP/1.0",
            b"OPTIONS * HTTP/1.1",
            b"GET http://example.com/ HTTP/1.1",
        ] {
            assert!(is_request_line(good), "{:?}", String::from_utf8_lossy(good));
        }
        for bad in [
            &b""[..],
            b"GET",
            b"GET /",
            b"GET / HTTP/9.9",
            b"G@T / HTTP/1.1",
            b"GET  / HTTP/1.1",
            b"GET / HTTP/1.1 extra",
            b"GET /a\x01b HTTP/1.1",
            b"PRI * HTTP/2.0",
            b"\x16\x03\x01\x02\x00",
        ] {
            assert!(!is_request_line(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
