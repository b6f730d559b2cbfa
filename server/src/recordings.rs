//! Call recordings live in a recordings store (`store::RecordingStore`): the embedded
//! default, files under the data folder served by this server at HMAC-signed URLs
//! (`embedded`), or an S3 bucket (this module's `Recordings`), uploaded to with Signature
//! V4 and read back through pre-signed GET URLs (query-string auth), so the audio never
//! passes through this server and a URL stops working on its own when it expires.
//!
//! Signing is `rusty-s3`'s (no AWS SDK); this module holds the configuration checks around
//! it, the upload and delete requests, and the one call the route makes.

pub mod download;
pub mod embedded;
pub mod link;
pub mod mp3;
pub mod retention;
pub mod store;

pub use store::{RecordingStore, StoreFailure};

use std::time::Duration;

use rusty_s3::actions::S3Action;
use rusty_s3::{Bucket, Credentials, UrlStyle};
use url::Url;

/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where recordings are and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingsConfig {
    pub bucket: String,
    pub region: String,
    /// Base URL of the S3 API; `https://s3.<region>.amazonaws.com` when `None`.
    pub endpoint: Option<String>,
}

/// The access key that signs the URLs. The secret never appears in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// Reads AWS's standard variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional
    /// `AWS_SESSION_TOKEN`) through `var`, so tests need not touch the process environment.
    /// Empty values count as unset; a key without its secret (or the reverse) is an error.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, RecordingsError> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Some(Self {
                access_key_id,
                secret_access_key,
                session_token: get("AWS_SESSION_TOKEN"),
            })),
            (None, None) => Ok(None),
            _ => Err(RecordingsError::PartialCredentials),
        }
    }

    /// From the process environment.
    pub fn from_env() -> Result<Option<Self>, RecordingsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

/// Why recordings could not be configured. Startup fails with the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingsError {
    #[error(
        "--recordings-bucket is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not: pre-signed URLs need credentials"
    )]
    MissingCredentials,
    #[error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")]
    PartialCredentials,
    #[error("--recordings-bucket must be 1 to 255 letters, digits, '.', '-' or '_' (got {0:?})")]
    BadBucket(String),
    #[error("--s3-region must be lowercase letters, digits and '-' (got {0:?})")]
    BadRegion(String),
    #[error(
        "--s3-endpoint must be an http:// or https:// URL with a host and no credentials, query or fragment (got {0:?})"
    )]
    BadEndpoint(String),
}

/// A recording key this server will not sign: it would leave the bucket's path once the
/// URL is normalised (leading `/`, `.` or `..` segments) or is empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("recording key cannot be signed safely")]
pub struct UnsignableKey;

/// A configured recordings bucket with the credentials that sign its URLs.
#[derive(Debug, Clone)]
pub struct Recordings {
    bucket: Bucket,
    credentials: Credentials,
    http: reqwest::Client,
}

/// How long an upload or delete request's own signature is valid.
const REQUEST_SIGNATURE_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest one upload or delete may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

impl Recordings {
    /// Checks the configuration. URLs are path-style (`<endpoint>/<bucket>/<key>`), so
    /// S3-compatible stores and loopback test servers work as well as AWS.
    pub fn new(
        config: &RecordingsConfig,
        credentials: AwsCredentials,
    ) -> Result<Self, RecordingsError> {
        let name = &config.bucket;
        let bucket_ok = (1..=255).contains(&name.len())
            && name != "."
            && name != ".."
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !bucket_ok {
            return Err(RecordingsError::BadBucket(name.clone()));
        }
        let region = &config.region;
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(RecordingsError::BadRegion(region.clone()));
        }
        let endpoint_text = config
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let endpoint = parse_endpoint(&endpoint_text)
            .ok_or_else(|| RecordingsError::BadEndpoint(endpoint_text.clone()))?;
        // No redirects: a signed request goes to the configured endpoint or nowhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|_| RecordingsError::BadEndpoint(endpoint_text.clone()))?;
        let bucket = Bucket::new(endpoint, UrlStyle::Path, name.clone(), region.clone())
            .map_err(|_| RecordingsError::BadEndpoint(endpoint_text))?;
        Ok(Self {
            bucket,
            credentials: credentials.into(),
            http,
        })
    }

    /// From `serve`'s settings once a bucket is given. A bucket without credentials is an
    /// error: a clear startup failure beats a server that answers 503 for every recording.
    pub fn from_settings(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        credentials: Option<AwsCredentials>,
    ) -> Result<Self, RecordingsError> {
        let credentials = credentials.ok_or(RecordingsError::MissingCredentials)?;
        let config = RecordingsConfig {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            endpoint: endpoint.map(str::to_owned),
        };
        Self::new(&config, credentials)
    }

    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    pub fn region(&self) -> &str {
        self.bucket.region()
    }

    /// `scheme://host[:port]` of the bucket's URLs (where its pre-signed GETs point).
    pub fn origin(&self) -> String {
        self.bucket.base_url().origin().ascii_serialization()
    }

    /// A GET URL for object `key`, signed at `now` (Unix seconds) and valid for
    /// `expires_in` seconds from then.
    pub fn presign_get(&self, key: &str, expires_in: u64, now: i64) -> Result<Url, UnsignableKey> {
        presign_get(&self.bucket, &self.credentials, key, expires_in, now)
    }

    /// Uploads `bytes` as object `key` (`Content-Type: audio/mpeg`): a `PUT` to a URL
    /// pre-signed with Signature V4 at `now` (the payload is `UNSIGNED-PAYLOAD`; TLS
    /// protects it on the way). Any answer but a 2xx is a failure.
    pub async fn put(&self, key: &str, bytes: Vec<u8>, now: i64) -> Result<(), StoreFailure> {
        let url = self.signed(key, now, |b, c, k| {
            b.put_object(Some(c), k)
                .sign_with_time(REQUEST_SIGNATURE_TTL, &at(now))
        })?;
        let response = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, store::CONTENT_TYPE)
            .body(bytes)
            .send()
            .await
            .map_err(|e| StoreFailure::Http(e.without_url()))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(StoreFailure::S3Status(status.as_u16())),
        }
    }

    /// Deletes object `key`. S3 answers 204 whether or not it existed; a 404 from an
    /// S3-compatible store is taken the same way.
    pub async fn delete(&self, key: &str, now: i64) -> Result<(), StoreFailure> {
        let url = self.signed(key, now, |b, c, k| {
            b.delete_object(Some(c), k)
                .sign_with_time(REQUEST_SIGNATURE_TTL, &at(now))
        })?;
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(|e| StoreFailure::Http(e.without_url()))?;
        match response.status() {
            status if status.is_success() || status == reqwest::StatusCode::NOT_FOUND => Ok(()),
            status => Err(StoreFailure::S3Status(status.as_u16())),
        }
    }

    /// A signed request URL for `key`, checked to stay inside the bucket.
    fn signed(
        &self,
        key: &str,
        now: i64,
        sign: impl FnOnce(&Bucket, &Credentials, &str) -> Url,
    ) -> Result<Url, StoreFailure> {
        if !key_is_signable(key) || jiff::Timestamp::from_second(now).is_err() {
            return Err(StoreFailure::BadKey);
        }
        let url = sign(&self.bucket, &self.credentials, key);
        if !url.as_str().starts_with(self.bucket.base_url().as_str()) {
            return Err(StoreFailure::BadKey);
        }
        Ok(url)
    }
}

/// `now` as `rusty-s3` takes it (checked in range by the caller).
fn at(now: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl From<AwsCredentials> for Credentials {
    fn from(c: AwsCredentials) -> Self {
        match c.session_token {
            Some(token) => Credentials::new_with_token(c.access_key_id, c.secret_access_key, token),
            None => Credentials::new(c.access_key_id, c.secret_access_key),
        }
    }
}

/// The endpoint as a base URL ending in `/`, so the bucket is appended to its path rather
/// than replacing the path's last segment.
fn parse_endpoint(text: &str) -> Option<Url> {
    let mut url = Url::parse(text).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !ok {
        return None;
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Some(url)
}

/// Whether `key` stays a path under the bucket: URL joining resolves `.`/`..` segments and
/// a leading `/`, which would point the signed URL at another bucket or path.
fn key_is_signable(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|segment| segment != "." && segment != "..")
}

fn presign_get(
    bucket: &Bucket,
    credentials: &Credentials,
    key: &str,
    expires_in: u64,
    now: i64,
) -> Result<Url, UnsignableKey> {
    if !key_is_signable(key) {
        return Err(UnsignableKey);
    }
    let at = jiff::Timestamp::from_second(now).map_err(|_| UnsignableKey)?;
    let url = bucket
        .get_object(Some(credentials), key)
        .sign_with_time(Duration::from_secs(expires_in), &at);
    // Belt and braces: the signed URL must name an object inside this bucket.
    if !url.as_str().starts_with(bucket.base_url().as_str()) {
        return Err(UnsignableKey);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn creds(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: AWS_KEY.into(),
            secret_access_key: AWS_SECRET.into(),
            session_token: token.map(str::to_owned),
        }
    }

    fn config(endpoint: Option<&str>) -> RecordingsConfig {
        RecordingsConfig {
            bucket: "staffify-recordings".into(),
            region: "eu-west-1".into(),
            endpoint: endpoint.map(str::to_owned),
        }
    }

    /// AWS's published example of a pre-signed GET (Signature V4, query-string auth):
    /// `examplebucket`, `test.txt`, 2013-05-24T00:00:00Z, 86400 s. That example is
    /// virtual-hosted, which our path-style `Recordings` cannot produce (the host is part of
    /// what is signed), so the signing function is checked with the example's bucket form.
    #[test]
    fn signs_the_aws_documentation_example() {
        let bucket = Bucket::new(
            "https://s3.amazonaws.com".parse().unwrap(),
            UrlStyle::VirtualHost,
            "examplebucket",
            "us-east-1",
        )
        .unwrap();
        let credentials = creds(None).into();
        let url = presign_get(&bucket, &credentials, "test.txt", 86_400, 1_369_353_600).unwrap();
        assert_eq!(url.host_str(), Some("examplebucket.s3.amazonaws.com"));
        assert_eq!(url.path(), "/test.txt");
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            q.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("{name} missing from {url}"))
        };
        assert_eq!(get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(
            get("X-Amz-Credential"),
            "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
        );
        assert_eq!(get("X-Amz-Date"), "20130524T000000Z");
        assert_eq!(get("X-Amz-Expires"), "86400");
        assert_eq!(get("X-Amz-SignedHeaders"), "host");
        assert_eq!(
            get("X-Amz-Signature"),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn urls_are_path_style_under_the_endpoint() {
        let r = Recordings::new(&config(Some("http://127.0.0.1:9000/s3")), creds(None)).unwrap();
        let url = r
            .presign_get("recordings/call_00000001.wav", 3600, 1_768_471_200)
            .unwrap();
        assert_eq!(url.scheme(), "http");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.port(), Some(9000));
        assert_eq!(
            url.path(),
            "/s3/staffify-recordings/recordings/call_00000001.wav"
        );
        let query = url.query().unwrap();
        assert!(query.contains("X-Amz-Expires=3600"), "{query}");
        assert!(query.contains("X-Amz-Date=20260115T100000Z"), "{query}");
        assert!(
            query.contains(
                "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260115%2Feu-west-1%2Fs3%2Faws4_request"
            ),
            "{query}"
        );
        assert!(!query.contains("X-Amz-Security-Token"), "{query}");
        assert!(!url.as_str().contains(AWS_SECRET));
    }

    #[test]
    fn default_endpoint_is_the_regions_s3() {
        let r = Recordings::new(&config(None), creds(Some("session/token"))).unwrap();
        let url = r.presign_get("a b+c.wav", 60, 1_768_471_200).unwrap();
        assert!(
            url.as_str().starts_with(
                "https://s3.eu-west-1.amazonaws.com/staffify-recordings/a%20b%2Bc.wav?"
            ),
            "{url}"
        );
        assert!(
            url.query()
                .unwrap()
                .contains("X-Amz-Security-Token=session%2Ftoken")
        );
    }

    #[test]
    fn keys_that_would_leave_the_bucket_are_refused() {
        let r = Recordings::new(&config(None), creds(None)).unwrap();
        for bad in [
            "",
            "/x.wav",
            "//evil.example/x",
            "a/../../other/x",
            "./x",
            "a/.",
        ] {
            assert_eq!(
                r.presign_get(bad, 60, 1_768_471_200),
                Err(UnsignableKey),
                "{bad:?}"
            );
        }
        assert!(r.presign_get("a/..b/c.wav", 60, 1_768_471_200).is_ok());
    }

    #[test]
    fn bad_settings_are_startup_errors() {
        let ok = Recordings::from_settings("b", "us-east-1", None, Some(creds(None))).unwrap();
        assert_eq!((ok.bucket(), ok.region()), ("b", "us-east-1"));
        let err = |bucket: &str, region: &str, endpoint: Option<&str>| {
            Recordings::from_settings(bucket, region, endpoint, Some(creds(None))).unwrap_err()
        };
        assert_eq!(
            Recordings::from_settings("b", "us-east-1", None, None).unwrap_err(),
            RecordingsError::MissingCredentials
        );
        assert!(matches!(
            err("", "us-east-1", None),
            RecordingsError::BadBucket(_)
        ));
        assert!(matches!(
            err("a/b", "us-east-1", None),
            RecordingsError::BadBucket(_)
        ));
        assert!(matches!(
            err("..", "us-east-1", None),
            RecordingsError::BadBucket(_)
        ));
        assert!(matches!(err("b", "", None), RecordingsError::BadRegion(_)));
        assert!(matches!(
            err("b", "eu west", None),
            RecordingsError::BadRegion(_)
        ));
        for endpoint in [
            "s3.amazonaws.com",
            "ftp://s3.amazonaws.com",
            "https://user:pw@s3.amazonaws.com",
            "https://s3.amazonaws.com/?x=1",
            "https://s3.amazonaws.com/#f",
        ] {
            assert!(
                matches!(
                    err("b", "us-east-1", Some(endpoint)),
                    RecordingsError::BadEndpoint(_)
                ),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn credentials_come_from_the_standard_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(AwsCredentials::from_vars(vars(&[])), Ok(None));
        assert_eq!(
            AwsCredentials::from_vars(vars(&[
                ("AWS_ACCESS_KEY_ID", AWS_KEY),
                ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
                ("AWS_SESSION_TOKEN", ""),
            ])),
            Ok(Some(creds(None)))
        );
        assert_eq!(
            AwsCredentials::from_vars(vars(&[
                ("AWS_ACCESS_KEY_ID", AWS_KEY),
                ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
                ("AWS_SESSION_TOKEN", "tok"),
            ])),
            Ok(Some(creds(Some("tok"))))
        );
        assert_eq!(
            AwsCredentials::from_vars(vars(&[("AWS_ACCESS_KEY_ID", AWS_KEY)])),
            Err(RecordingsError::PartialCredentials)
        );
        assert_eq!(
            AwsCredentials::from_vars(vars(&[
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
            ])),
            Err(RecordingsError::PartialCredentials)
        );
        assert!(!format!("{:?}", creds(Some("tok"))).contains(AWS_SECRET));
    }
}
