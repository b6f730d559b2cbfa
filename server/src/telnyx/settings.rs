//! Telnyx settings: the flags (flattened into `serve`), and the values they parse into.
//! Secrets are parsed at the edge into types whose `Debug` never shows them, because
//! `ServeArgs` and friends derive `Debug`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use ed25519_dalek::VerifyingKey;
use reqwest::Url;

/// Telnyx's API base when no `--telnyx-api-url` is given.
pub const DEFAULT_API_URL: &str = "https://api.telnyx.com/v2";

/// The `serve` flags for Telnyx.
#[derive(Debug, Clone, Args)]
pub struct TelnyxArgs {
    /// Telnyx API key (Call Control commands: end, transfer, gather); unset: live-call
    /// control is not configured.
    #[arg(long, env = "CALLSCOPE_TELNYX_API_KEY", hide_env_values = true,
          value_name = "KEY", value_parser = TelnyxApiKey::parse)]
    pub telnyx_api_key: Option<TelnyxApiKey>,

    /// Base URL of Telnyx's v2 API.
    #[arg(long, env = "CALLSCOPE_TELNYX_API_URL", value_name = "URL",
          default_value = DEFAULT_API_URL, value_parser = parse_api_url)]
    pub telnyx_api_url: Url,

    /// The Telnyx account's webhook public key: base64 of its 32 raw Ed25519 bytes (from
    /// the Telnyx portal); unset: Telnyx webhooks are not accepted.
    #[arg(long, env = "CALLSCOPE_TELNYX_PUBLIC_KEY", value_name = "BASE64",
          value_parser = WebhookPublicKey::from_base64)]
    pub telnyx_public_key: Option<WebhookPublicKey>,
}

/// What the server runs with (a part of `Config`).
#[derive(Debug, Clone)]
pub struct TelnyxSettings {
    /// `None`: commands to calls are not configured.
    pub api_key: Option<TelnyxApiKey>,
    /// Base of every command URL, e.g. `https://api.telnyx.com/v2`.
    pub api_url: Url,
    /// `None`: webhooks from Telnyx cannot be verified, so none are accepted.
    pub public_key: Option<WebhookPublicKey>,
}

impl Default for TelnyxSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            api_url: default_api_url(),
            public_key: None,
        }
    }
}

impl From<TelnyxArgs> for TelnyxSettings {
    fn from(args: TelnyxArgs) -> Self {
        Self {
            api_key: args.telnyx_api_key,
            api_url: args.telnyx_api_url,
            public_key: args.telnyx_public_key,
        }
    }
}

fn default_api_url() -> Url {
    // A literal that parses; `parse_api_url` is tested on it.
    Url::parse(DEFAULT_API_URL).unwrap_or_else(|_| unreachable!("DEFAULT_API_URL parses"))
}

/// An `http(s)` URL that can take path segments (commands are appended to it).
pub fn parse_api_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".to_owned());
    }
    Ok(url)
}

/// A Telnyx API key. Shown only to Telnyx, in the `Authorization` header; `Debug` and
/// `Display` do not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct TelnyxApiKey(String);

impl TelnyxApiKey {
    /// A non-empty key without whitespace or control characters (it goes into a header).
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err("must be a non-empty key of printable ASCII characters".to_owned())
        }
    }

    /// The key itself, for the request header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TelnyxApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TelnyxApiKey(<redacted>)")
    }
}

/// The Ed25519 public key Telnyx signs webhooks with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookPublicKey(VerifyingKey);

impl WebhookPublicKey {
    /// Base64 (standard, padded or not) of the raw 32-byte key, as Telnyx's portal shows it.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        const WHAT: &str = "must be base64 of a 32-byte Ed25519 public key";
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| WHAT.to_owned())?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| WHAT.to_owned())?;
        VerifyingKey::from_bytes(&raw)
            .map(Self)
            .map_err(|_| WHAT.to_owned())
    }

    /// From the raw 32 bytes (tests build keys this way).
    pub fn from_bytes(raw: &[u8; 32]) -> Option<Self> {
        VerifyingKey::from_bytes(raw).ok().map(Self)
    }

    pub(crate) fn key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Debug for WebhookPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WebhookPublicKey({})",
            STANDARD.encode(self.0.as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_api_url_parses() {
        assert_eq!(
            parse_api_url(DEFAULT_API_URL).unwrap().as_str(),
            DEFAULT_API_URL
        );
        assert_eq!(TelnyxSettings::default().api_url.as_str(), DEFAULT_API_URL);
    }

    #[test]
    fn api_urls_must_be_http_bases() {
        assert!(parse_api_url("http://127.0.0.1:9/v2").is_ok());
        for bad in ["ftp://x/v2", "mailto:a@b", "https://x/v2?a=1", "not a url"] {
            assert!(parse_api_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let key = TelnyxApiKey::parse("KEYsecret123").unwrap();
        let settings = TelnyxSettings {
            api_key: Some(key),
            ..TelnyxSettings::default()
        };
        assert!(!format!("{settings:?}").contains("KEYsecret123"));
        assert!(TelnyxApiKey::parse("").is_err());
        assert!(TelnyxApiKey::parse("a b").is_err());
        assert!(TelnyxApiKey::parse("a\nb").is_err());
    }

    #[test]
    fn public_keys_are_32_bytes_of_base64() {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let text = STANDARD.encode(raw.as_bytes());
        assert_eq!(WebhookPublicKey::from_base64(&text).unwrap().key(), &raw);
        assert!(WebhookPublicKey::from_base64(text.trim_end_matches('=')).is_ok());
        assert!(WebhookPublicKey::from_base64("AAAA").is_err());
        assert!(WebhookPublicKey::from_base64("!!!").is_err());
    }

    #[test]
    fn serve_takes_the_telnyx_flags() {
        use clap::Parser;
        let serve = |flags: &[&str]| {
            let argv = ["callscope", "serve"].iter().chain(flags);
            match crate::cli::Cli::try_parse_from(argv).map(|c| c.command) {
                Ok(crate::cli::Command::Serve(args)) => Ok(TelnyxSettings::from(args.telnyx)),
                Ok(other) => panic!("parsed as {other:?}"),
                Err(e) => Err(e),
            }
        };
        let defaults = serve(&[]).unwrap();
        assert_eq!(defaults.api_url.as_str(), DEFAULT_API_URL);
        assert!(defaults.api_key.is_none() && defaults.public_key.is_none());

        let raw = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let public = STANDARD.encode(raw.as_bytes());
        let set = serve(&[
            "--telnyx-api-key",
            "KEY0123",
            "--telnyx-api-url",
            "http://127.0.0.1:9/v2",
            "--telnyx-public-key",
            &public,
        ])
        .unwrap();
        assert_eq!(set.api_key, Some(TelnyxApiKey::parse("KEY0123").unwrap()));
        assert_eq!(set.api_url.as_str(), "http://127.0.0.1:9/v2");
        assert_eq!(set.public_key.unwrap().key(), &raw);

        for bad in [
            ["--telnyx-public-key", "AAAA"],
            ["--telnyx-api-url", "ftp://x"],
            ["--telnyx-api-key", ""],
        ] {
            let err = serve(&bad).unwrap_err().to_string();
            assert!(!err.contains("KEY0123"), "{err}");
        }
    }
}
