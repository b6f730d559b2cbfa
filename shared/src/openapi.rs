//! OpenAPI schemas of the wire types whose serde is written by hand (ids, instants, exact
//! amounts): what their text or number looks like on the wire, for the server's
//! `/openapi.json`. Built only with the `openapi` feature, so the viewer's wasm has none.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::{AgentId, CallId, Fixed, Timestamp};

/// A string of one shape.
fn text(pattern: &str, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .into()
}

impl PartialSchema for CallId {
    fn schema() -> RefOr<Schema> {
        // `call_` + the numeric id zero-padded to 8 digits; longer ids are not padded.
        text(
            "^call_([0-9]{8}|[1-9][0-9]{8,17})$",
            "A call's public id: call_ and its number, zero-padded to 8 digits",
            "call_00000001",
        )
    }
}

impl ToSchema for CallId {
    fn name() -> Cow<'static, str> {
        "CallId".into()
    }
}

impl PartialSchema for AgentId {
    fn schema() -> RefOr<Schema> {
        text(
            "^agent_[0-9a-f]{8}$",
            "An agent's public id: agent_ and 8 lowercase hex characters",
            "agent_28c51f81",
        )
    }
}

impl ToSchema for AgentId {
    fn name() -> Cow<'static, str> {
        "AgentId".into()
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "An instant, RFC 3339; answers are UTC with whole seconds (2026-01-15T10:00:00Z)",
            ))
            .examples(["2026-01-15T10:00:00Z"])
            .into()
    }
}

impl ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        "Timestamp".into()
    }
}

impl<const D: u32> PartialSchema for Fixed<D> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(format!(
                "An exact decimal with at most {D} fractional digits, as a JSON number"
            )))
            .into()
    }
}

impl<const D: u32> ToSchema for Fixed<D> {
    /// `Money` (4 digits) and `Minutes` (2), the two the API uses.
    fn name() -> Cow<'static, str> {
        match D {
            4 => "Money".into(),
            2 => "Minutes".into(),
            _ => format!("Fixed{D}").into(),
        }
    }
}
