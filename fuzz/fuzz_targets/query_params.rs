//! A query string as the calls list and summary read it: splitting, the strict check
//! (unknown or repeated names) and every typed reader either answer or refuse with a 400,
//! never panic.
#![no_main]

use axum::extract::Query;
use axum::http::{StatusCode, Uri};
use callscope_server::routes::params::{Allowed, Params};
use libfuzzer_sys::fuzz_target;

/// Every name the readers below look at.
const EVERY: Allowed = &[
    "agent_id",
    "status",
    "disposition",
    "from_date",
    "to_date",
    "after",
    "limit",
    "expires_in",
    "include_recording",
];

fuzz_target!(|query: &str| {
    let Ok(uri) = format!("/v1/calls?{query}").parse::<Uri>() else {
        return;
    };
    let params = match Query::<Vec<(String, String)>>::try_from_uri(&uri) {
        Ok(Query(pairs)) => Params::new(pairs, EVERY),
        Err(_) => return,
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => return assert_eq!(e.status, StatusCode::BAD_REQUEST),
    };
    let refusals = [
        params.int_in("limit", 1..=100, 50).err(),
        params.optional_int_in("expires_in", 60..=86_400).err(),
        params.bool_or("include_recording", false).err(),
        params.status().err(),
        params.disposition().err(),
        params.date_range().err(),
        params.agent_any().err(),
        params.agent_numeric().err(),
    ];
    for e in refusals.into_iter().flatten() {
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
});
