//! A loopback S3, played from S3's public documentation: objects by (bucket, key), written
//! by pre-signed PUTs, removed by pre-signed DELETEs and served to pre-signed GETs, each
//! checked for Signature V4 query auth and expiry the way S3 documents it. It counts the
//! DELETE requests each key receives and can be told to fail them (500) or to answer them
//! slowly, for the retention tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri, header};
use axum::response::{IntoResponse, Response};
use callscope_server::recordings::{AwsCredentials, Recordings, RecordingsConfig};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const ACCESS_KEY: &str = "AKIDCALLSCOPETEST";
pub const SECRET_KEY: &str = "c2VjcmV0LWZvci10aGUtbG9vcGJhY2stczM";
pub const SESSION_TOKEN: &str = "session/token+for=tests";
pub const BUCKET: &str = "staffify-recordings";
pub const REGION: &str = "eu-central-1";

/// Now, from the wall clock: what the fake checks URL expiry against (as S3 does).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub struct FakeS3 {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    state: Arc<S3State>,
}

/// An object: its bytes and the `Content-Type` it was uploaded with.
pub type Object = (Vec<u8>, Option<String>);

struct S3State {
    objects: Mutex<HashMap<(String, String), Object>>,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    /// Authenticated DELETE requests received, by (bucket, key), answered or failed.
    deletes: Mutex<HashMap<(String, String), usize>>,
    /// Answer DELETEs with S3's 500 `InternalError` (the object stays).
    fail_deletes: AtomicBool,
    /// Milliseconds to wait before answering a DELETE.
    delete_delay_ms: AtomicU64,
    /// Answer PUTs with S3's 500 `InternalError` (nothing stored).
    fail_puts: AtomicBool,
}

impl FakeS3 {
    pub async fn start(objects: &[(&str, &str, &[u8])], credentials: &AwsCredentials) -> FakeS3 {
        let state = Arc::new(S3State {
            objects: Mutex::new(
                objects
                    .iter()
                    .map(|(b, k, v)| ((b.to_string(), k.to_string()), (v.to_vec(), None)))
                    .collect(),
            ),
            access_key: credentials.access_key_id.clone(),
            secret_key: credentials.secret_access_key.clone(),
            session_token: credentials.session_token.clone(),
            deletes: Mutex::default(),
            fail_deletes: AtomicBool::new(false),
            delete_delay_ms: AtomicU64::new(0),
            fail_puts: AtomicBool::new(false),
        });
        let app = axum::Router::new().fallback({
            let state = state.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let delay = state.delete_delay_ms.load(Ordering::SeqCst);
                    if method == Method::DELETE && delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    s3_request(&state, &method, &uri, &headers, body)
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeS3 { addr, task, state }
    }

    /// The object as stored: bytes and the `Content-Type` it was uploaded with.
    pub fn object(&self, key: &str) -> Option<Object> {
        let objects = self.state.objects.lock().unwrap();
        objects.get(&(BUCKET.to_owned(), key.to_owned())).cloned()
    }

    /// Stores an object directly, as if uploaded earlier.
    pub fn insert(&self, key: &str, bytes: &[u8]) {
        let mut objects = self.state.objects.lock().unwrap();
        objects.insert((BUCKET.to_owned(), key.to_owned()), (bytes.to_vec(), None));
    }

    /// How many authenticated DELETE requests `key` received (failed ones included).
    pub fn deletes(&self, key: &str) -> usize {
        let deletes = self.state.deletes.lock().unwrap();
        deletes
            .get(&(BUCKET.to_owned(), key.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Every DELETE from now on fails with a 500 (`true`) or is served again (`false`).
    pub fn fail_deletes(&self, fail: bool) {
        self.state.fail_deletes.store(fail, Ordering::SeqCst);
    }

    /// Every PUT from now on fails with a 500 (`true`) or is stored again (`false`).
    pub fn fail_puts(&self, fail: bool) {
        self.state.fail_puts.store(fail, Ordering::SeqCst);
    }

    /// Every DELETE from now on waits this long before it is answered.
    pub fn delay_deletes(&self, delay: Duration) {
        self.state
            .delete_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// S3's error document.
fn s3_error(status: AxumStatus, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// SigV4's UriEncode: unreserved characters as they are, everything else `%XX` (upper
/// case); `/` kept only in the path.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A GET, PUT or DELETE of a pre-signed object URL, checked as S3 documents query-string
/// auth: every `X-Amz-*` parameter present, our access key and session token, not past
/// `X-Amz-Date + X-Amz-Expires`, and `X-Amz-Signature` equal to the signature recomputed
/// here from the canonical request (method, path, sorted query without the signature,
/// `host`, `UNSIGNED-PAYLOAD`). A PUT stores its body, a DELETE removes the object (204
/// whether or not it was there, as S3 does).
fn s3_request(
    s3: &S3State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let denied = || s3_error(AxumStatus::FORBIDDEN, "AccessDenied", "Access Denied");
    if ![Method::GET, Method::PUT, Method::DELETE].contains(method) {
        return s3_error(
            AxumStatus::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let Some(pairs) = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(n)?, percent_decode(v)?))
        })
        .collect::<Option<Vec<(String, String)>>>()
    else {
        return denied();
    };
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(expires),
        Some(signed_headers),
        Some(signature),
    ) = (
        param("X-Amz-Algorithm"),
        param("X-Amz-Credential"),
        param("X-Amz-Date"),
        param("X-Amz-Expires"),
        param("X-Amz-SignedHeaders"),
        param("X-Amz-Signature"),
    )
    else {
        return denied();
    };
    if algorithm != "AWS4-HMAC-SHA256" || signed_headers != "host" {
        return s3_error(
            AxumStatus::FORBIDDEN,
            "AuthorizationQueryParametersError",
            "Unsupported algorithm or signed headers",
        );
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, day, region, "s3", "aws4_request"] = scope[..] else {
        return s3_error(
            AxumStatus::FORBIDDEN,
            "AuthorizationQueryParametersError",
            "Malformed credential",
        );
    };
    if access_key != s3.access_key {
        return s3_error(
            AxumStatus::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        );
    }
    if param("X-Amz-Security-Token") != s3.session_token.as_deref() {
        return s3_error(
            AxumStatus::FORBIDDEN,
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        );
    }
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let Ok(signed_at) = time::PrimitiveDateTime::parse(date, format) else {
        return denied();
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return denied();
    };
    if !(1..=604_800).contains(&expires) || !date.starts_with(day) {
        return denied();
    }
    if now() > signed_at.assume_utc().unix_timestamp() + expires {
        return s3_error(AxumStatus::FORBIDDEN, "AccessDenied", "Request has expired");
    }

    let Some(path) = percent_decode(uri.path()) else {
        return denied();
    };
    let mut query: Vec<(String, String)> = pairs
        .iter()
        .filter(|(n, _)| n != "X-Amz-Signature")
        .map(|(n, v)| (uri_encode(n, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let canonical = format!(
        "{method}\n{}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD",
        uri_encode(&path, true)
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{day}/{region}/s3/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", s3.secret_key).as_bytes(), day);
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    if hex(&hmac(&key, &to_sign)) != signature {
        return s3_error(
            AxumStatus::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }

    let Some((bucket, key)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return denied();
    };
    let name = (bucket.to_owned(), key.to_owned());
    let mut objects = s3.objects.lock().unwrap();
    if *method == Method::PUT {
        if s3.fail_puts.load(Ordering::SeqCst) {
            return s3_error(
                AxumStatus::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        objects.insert(name, (body.to_vec(), content_type));
        return AxumStatus::OK.into_response();
    }
    if *method == Method::DELETE {
        *s3.deletes.lock().unwrap().entry(name.clone()).or_default() += 1;
        if s3.fail_deletes.load(Ordering::SeqCst) {
            return s3_error(
                AxumStatus::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
        }
        objects.remove(&name);
        return AxumStatus::NO_CONTENT.into_response();
    }
    match objects.get(&name) {
        Some((bytes, content_type)) => (
            [(
                header::CONTENT_TYPE,
                content_type.clone().unwrap_or_else(|| "audio/wav".into()),
            )],
            Bytes::from(bytes.clone()),
        )
            .into_response(),
        None => s3_error(
            AxumStatus::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}

/// The credentials the fake accepts.
pub fn credentials() -> AwsCredentials {
    AwsCredentials {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        session_token: Some(SESSION_TOKEN.into()),
    }
}

/// A recordings bucket (`BUCKET` in `REGION`) at `endpoint`, signing with `credentials()`.
pub fn recordings(endpoint: String) -> Recordings {
    Recordings::new(
        &RecordingsConfig {
            bucket: BUCKET.into(),
            region: REGION.into(),
            endpoint: Some(endpoint),
        },
        credentials(),
    )
    .unwrap()
}
