//! Query parameters, parsed strictly: unknown or repeated parameters and bad values are a
//! 400 whose message names the parameter and what it allows.
//!
//! One mechanism for every route: each route is registered with the parameters it takes
//! (`routes::api`), `strict_query` checks the query string against them before the handler
//! runs, and handlers that take parameters read the checked `Params`. A route cannot be
//! added without saying what it takes, so none silently ignores a typo'd filter.

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use callscope_shared::{AgentId, CallStatus, Disposition};
use time::{Date, Month};

use crate::error::ApiError;
use crate::storage::DAY;

/// The parameters a route takes; `&[]` for none.
pub type Allowed = &'static [&'static str];

/// Refuses a request whose query string names a parameter its route does not take, or one
/// twice; otherwise hands the checked `Params` to the handler.
pub async fn strict_query(
    State(allowed): State<Allowed>,
    mut request: Request,
    next: Next,
) -> Response {
    let checked = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        .map_err(ApiError::from)
        .and_then(|Query(pairs)| Params::new(pairs, allowed));
    match checked {
        Ok(params) => {
            request.extensions_mut().insert(params);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

/// The query string of one request, checked against the parameters its route takes.
#[derive(Debug, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    /// The `Params` `strict_query` checked; a route registered without it is a bug.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.remove::<Params>().ok_or_else(|| {
            tracing::error!("a handler reads query parameters its route does not check");
            ApiError::internal()
        })
    }
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>, allowed: Allowed) -> Result<Self, ApiError> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let takes = if allowed.is_empty() {
                    "this endpoint takes none".to_owned()
                } else {
                    format!("allowed: {}", allowed.join(", "))
                };
                return Err(ApiError::bad_request(format!(
                    "Unknown query parameter: {name} ({takes})"
                )));
            }
            if pairs[..i].iter().any(|(other, _)| other == name) {
                return Err(ApiError::bad_request(format!(
                    "Query parameter {name} must be given at most once"
                )));
            }
        }
        Ok(Self { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer in `range`, or `default` when absent.
    pub fn int_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ApiError> {
        Ok(self.optional_int_in(name, range)?.unwrap_or(default))
    }

    /// An integer in `range`, or `None` when absent.
    pub fn optional_int_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|text| {
                parse_int(text)
                    .filter(|v| range.contains(v))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name} must be an integer between {} and {}",
                            range.start(),
                            range.end()
                        ))
                    })
            })
            .transpose()
    }

    /// `true` or `false` (exactly: lowercase, nothing else), or `default` when absent.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be true or false"
            ))),
        }
    }

    pub fn status(&self) -> Result<Option<CallStatus>, ApiError> {
        self.enumeration("status", CallStatus::allowed())
    }

    pub fn disposition(&self) -> Result<Option<Disposition>, ApiError> {
        self.enumeration("disposition", Disposition::allowed())
    }

    fn enumeration<T: std::str::FromStr>(
        &self,
        name: &str,
        allowed: String,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|text| {
                text.parse::<T>()
                    .map_err(|_| ApiError::bad_request(format!("{name} must be one of: {allowed}")))
            })
            .transpose()
    }

    /// `from_date`/`to_date` as a half-open range of Unix seconds `[from, to)`, with their text.
    pub fn date_range(&self) -> Result<DateRange, ApiError> {
        let from = self
            .get("from_date")
            .map(|t| parse_date("from_date", t))
            .transpose()?;
        let to = self
            .get("to_date")
            .map(|t| parse_date("to_date", t))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ApiError::bad_request("from_date must not be after to_date"));
        }
        Ok(DateRange {
            from: from.map(day_start),
            to: to.map(|d| day_start(d) + DAY),
            from_text: from.map(|_| self.get("from_date").unwrap_or_default().to_owned()),
            to_text: to.map(|_| self.get("to_date").unwrap_or_default().to_owned()),
        })
    }

    /// `agent_id` as either form: `agent_…` or a numeric id.
    pub fn agent_any(&self) -> Result<Option<AgentRef>, ApiError> {
        let Some(text) = self.get("agent_id") else {
            return Ok(None);
        };
        if let Ok(public) = text.parse::<AgentId>() {
            return Ok(Some(AgentRef::Public(public)));
        }
        parse_numeric_id(text).map(|id| Some(AgentRef::Numeric(id))).ok_or_else(|| {
            ApiError::bad_request("agent_id must be an agent_* public id (agent_ and 8 hex characters) or a numeric agent id")
        })
    }

    /// `agent_id` as a numeric id only (the summary does not take public ids).
    pub fn agent_numeric(&self) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.get("agent_id") else {
            return Ok(None);
        };
        if text.starts_with("agent_") {
            return Err(ApiError::bad_request(
                "agent_id must be a numeric agent id; agent_* public IDs are not supported here",
            ));
        }
        parse_numeric_id(text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("agent_id must be a numeric agent id"))
    }
}

pub use crate::calls::AgentRef;

/// UTC days as Unix seconds, `to` exclusive, plus the text given (for echoing back).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub from_text: Option<String>,
    pub to_text: Option<String>,
}

/// The one reading of an integer in a query string: a plain decimal, ASCII digits with no
/// sign and no leading zero (`0` itself aside), at most 18 digits (so it fits `i64`).
/// `+60`, `060`, ` 60` and `6e1` are refused rather than read as 60: a value has one
/// spelling, so caches, logs and signatures keyed on the URL agree with what was served.
fn parse_int(text: &str) -> Option<i64> {
    let digits = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn parse_numeric_id(text: &str) -> Option<i64> {
    parse_int(text).filter(|id| *id > 0)
}

/// Strict `YYYY-MM-DD`: four-digit year, two-digit month and day, a real calendar date.
fn parse_date(name: &str, text: &str) -> Result<Date, ApiError> {
    let bad = || ApiError::bad_request(format!("{name} must be a valid date in YYYY-MM-DD format"));
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(bad());
    }
    let year: i32 = text[0..4].parse().map_err(|_| bad())?;
    let month: u8 = text[5..7].parse().map_err(|_| bad())?;
    let day: u8 = text[8..10].parse().map_err(|_| bad())?;
    let month = Month::try_from(month).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    if year < 1970 {
        return Err(bad());
    }
    Ok(date)
}

fn day_start(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)], allowed: Allowed) -> Result<Params, ApiError> {
        Params::new(
            q.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            allowed,
        )
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let e = params(&[("limt", "5")], &["limit"]).err().unwrap();
        assert_eq!(e.message, "Unknown query parameter: limt (allowed: limit)");
        let e = params(&[("limit", "5"), ("limit", "6")], &["limit"])
            .err()
            .unwrap();
        assert_eq!(
            e.message,
            "Query parameter limit must be given at most once"
        );
        let e = params(&[("x", "1")], &[]).err().unwrap();
        assert_eq!(
            e.message,
            "Unknown query parameter: x (this endpoint takes none)"
        );
    }

    #[test]
    fn limits() {
        let p = |v: &str| {
            params(&[("limit", v)], &["limit"])
                .unwrap()
                .int_in("limit", 1..=100, 50)
        };
        assert_eq!(p("1").unwrap(), 1);
        assert_eq!(p("100").unwrap(), 100);
        for bad in [
            "0",
            "101",
            "abc",
            "",
            "1.5",
            "-1",
            "99999999999999999999",
            "+5",
            "05",
            "007",
            " 5",
            "5 ",
            "5e0",
            "٥",
        ] {
            assert_eq!(
                p(bad).unwrap_err().message,
                "limit must be an integer between 1 and 100",
                "{bad}"
            );
        }
        assert_eq!(
            params(&[], &["limit"])
                .unwrap()
                .int_in("limit", 1..=100, 50)
                .unwrap(),
            50
        );
    }

    #[test]
    fn dates_are_strict_and_inclusive() {
        let r = params(
            &[("from_date", "2026-01-01"), ("to_date", "2026-01-31")],
            &["from_date", "to_date"],
        )
        .unwrap()
        .date_range()
        .unwrap();
        assert_eq!(r.from, Some(1_767_225_600));
        assert_eq!(r.to, Some(1_767_225_600 + 31 * DAY));
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "20260101",
            "2026-01-01T00:00:00Z",
            "1969-12-31",
            "+2026-01-1",
        ] {
            let e = params(&[("from_date", bad)], &["from_date"])
                .unwrap()
                .date_range()
                .unwrap_err();
            assert_eq!(
                e.message, "from_date must be a valid date in YYYY-MM-DD format",
                "{bad}"
            );
        }
        let e = params(
            &[("from_date", "2026-02-01"), ("to_date", "2026-01-31")],
            &["from_date", "to_date"],
        )
        .unwrap()
        .date_range()
        .unwrap_err();
        assert_eq!(e.message, "from_date must not be after to_date");
    }

    #[test]
    fn agent_ids() {
        let p = |v: &str| params(&[("agent_id", v)], &["agent_id"]).unwrap();
        assert_eq!(
            p("agent_28c51f81").agent_any().unwrap(),
            Some(AgentRef::Public("agent_28c51f81".parse().unwrap()))
        );
        assert_eq!(p("12").agent_any().unwrap(), Some(AgentRef::Numeric(12)));
        assert!(p("agent_XYZ").agent_any().is_err());
        assert!(p("0").agent_any().is_err());
        assert_eq!(p("12").agent_numeric().unwrap(), Some(12));
        assert!(
            p("agent_28c51f81")
                .agent_numeric()
                .unwrap_err()
                .message
                .contains("agent_* public IDs are not supported")
        );
        assert!(p("-3").agent_numeric().is_err());
        for spelled in ["+12", "012", "0"] {
            assert!(p(spelled).agent_any().is_err(), "{spelled}");
            assert!(p(spelled).agent_numeric().is_err(), "{spelled}");
        }
    }

    #[test]
    fn booleans_are_true_or_false_exactly() {
        let p = |v: &str| {
            params(&[("include_recording", v)], &["include_recording"])
                .unwrap()
                .bool_or("include_recording", false)
        };
        assert!(p("true").unwrap());
        assert!(!p("false").unwrap());
        for bad in ["", "1", "0", "yes", "True", "FALSE", " true", "true "] {
            assert_eq!(
                p(bad).unwrap_err().message,
                "include_recording must be true or false",
                "{bad:?}"
            );
        }
        let absent = params(&[], &["include_recording"]).unwrap();
        assert!(!absent.bool_or("include_recording", false).unwrap());
        assert!(absent.bool_or("include_recording", true).unwrap());
    }

    #[test]
    fn enums_name_their_values() {
        let e = params(&[("status", "done")], &["status"])
            .unwrap()
            .status()
            .unwrap_err();
        assert_eq!(
            e.message,
            "status must be one of: ringing, in-progress, completed, failed, busy, no-answer, canceled, rejected"
        );
        let e = params(&[("disposition", "")], &["disposition"])
            .unwrap()
            .disposition()
            .unwrap_err();
        assert!(
            e.message
                .starts_with("disposition must be one of: answered, no-answer")
        );
    }
}
