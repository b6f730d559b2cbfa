//! Schemas the derives cannot say alone: fields that take more than one JSON type.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// An agent named by its public id (`agent_…`) or its numeric id, as a string or a number.
pub fn agent_ref() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^(agent_[0-9a-f]{8}|[1-9][0-9]{0,17})$")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(1)),
        )
        .description(Some(
            "An agent: `agent_` and 8 hex characters, or its numeric id (a string or a number)",
        ))
        .examples(["agent_28c51f81"])
        .into()
}

/// Bytes that are not JSON (an MP3, an OTLP protobuf): `string`, `format: binary`.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}
