//! The pipeline API's operator authentication: `Authorization: Bearer <token>` against the
//! configured tokens (`--pipeline-token`, comma-separated so a new one can be added before
//! the old one is removed). Tokens are compared as SHA-256 digests in constant time, every
//! configured token every time, so neither the match nor its position leaks by timing.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::{ApiError, messages};

/// Shortest token accepted in the configuration.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens, kept as digests only. Empty: the pipeline API is off.
#[derive(Clone, Default)]
pub struct PipelineTokens(Vec<[u8; 32]>);

impl std::fmt::Debug for PipelineTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PipelineTokens({} configured)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "--pipeline-token / CALLSCOPE_PIPELINE_TOKEN: each comma-separated token must be at least {MIN_TOKEN_LEN} characters, without spaces"
)]
pub struct BadPipelineToken;

impl std::str::FromStr for PipelineTokens {
    type Err = BadPipelineToken;

    /// Comma-separated tokens; an empty text configures none.
    fn from_str(text: &str) -> Result<Self, BadPipelineToken> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        text.split(',')
            .map(str::trim)
            .map(|t| {
                let ok = t.len() >= MIN_TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic());
                ok.then(|| digest(t)).ok_or(BadPipelineToken)
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl PipelineTokens {
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `presented` is one of the tokens; constant time over all of them.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |found, t| {
                found | t.ct_eq(&presented)
            })
            .into()
    }
}

/// A request the pipeline's operator made. Off (no token configured): 404 saying so.
#[derive(Debug, Clone, Copy)]
pub struct PipelineAuth;

impl FromRequestParts<AppState> for PipelineAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tokens = &state.config.pipeline_tokens;
        if !tokens.enabled() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                messages::PIPELINE_NOT_ENABLED,
            ));
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized(messages::MISSING_PIPELINE_TOKEN))?;
        let invalid = || ApiError::unauthorized(messages::INVALID_PIPELINE_TOKEN);
        let text = header.to_str().map_err(|_| invalid())?;
        let (scheme, token) = text.trim().split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") || !tokens.accepts(token.trim()) {
            return Err(invalid());
        }
        Ok(PipelineAuth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_rotate_and_compare() {
        let none: PipelineTokens = "".parse().unwrap();
        assert!(!none.enabled());
        let two: PipelineTokens = "old-token-0123456789, new-token-0123456789"
            .parse()
            .unwrap();
        assert!(two.accepts("old-token-0123456789"));
        assert!(two.accepts("new-token-0123456789"));
        assert!(!two.accepts("old-token-012345678"));
        assert!(!two.accepts(""));
        for bad in ["short", "a-good-long-token-1,", "has a space in it ok"] {
            assert!(bad.parse::<PipelineTokens>().is_err(), "{bad}");
        }
        assert!(!format!("{two:?}").contains("token-"));
    }
}
