//! Webhook endpoints of the caller's account: create, list, delete, send a test event, and
//! read one endpoint's delivery attempts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callscope_shared::{
    EndpointDeliveries, ErrorBody, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointList,
    WebhookTestQueued,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::NoStore;
use super::control::Success;
use super::params::{Allowed, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::cursor;
use crate::error::{ApiError, messages};
use crate::extract::{ApiJson, PathParam};
use crate::ids::EndpointId;
use crate::storage::EndpointRecord;
use crate::webhooks::endpoint_public_id;
use crate::webhooks::endpoints::{self, Created};

fn view(e: EndpointRecord, secret: Option<String>) -> WebhookEndpoint {
    WebhookEndpoint {
        id: endpoint_public_id(e.id),
        url: e.url,
        events: e.events,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        created_at: e
            .created_at
            .timestamp()
            .unwrap_or_else(|| callscope_shared::Timestamp::from_unix(0).expect("epoch")),
        secret,
    }
}

/// `POST /v1/webhooks` → 201 with the endpoint and its signing secret (shown only here).
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "create_webhook", tag = "webhooks", security(("ApiKey" = [])),
    request_body(content = NewWebhookEndpoint, content_type = "application/json"),
    responses(
        (status = 201, description = "The endpoint, with its signing secret (shown only here; `Cache-Control: no-store`)", body = WebhookEndpoint,
            links(
                ("DeleteWebhook" = (operation_id = "delete_webhook", parameters(("id" = "$response.body#/id")))),
                ("TestWebhook" = (operation_id = "test_webhook", parameters(("id" = "$response.body#/id")))),
                ("WebhookDeliveries" = (operation_id = "webhook_deliveries", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 400, description = "A URL that is not an allowed https target, an unknown event, too many endpoints, or a bad body", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewWebhookEndpoint>,
) -> Result<NoStore<(StatusCode, Json<WebhookEndpoint>)>, ApiError> {
    let Created { endpoint, secret } = endpoints::create(
        &state.store,
        &state.keys.webhook_secret,
        state.config.webhooks.allow_private,
        auth.account_id,
        &body.url,
        body.events,
        state.clock.now(),
    )
    .await?;
    Ok(NoStore((
        StatusCode::CREATED,
        Json(view(endpoint, Some(secret.reveal()))),
    )))
}

/// `GET /v1/webhooks`
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks", security(("ApiKey" = [])),
    responses((status = 200, description = "The account's endpoints (no secrets)", body = WebhookEndpointList)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<WebhookEndpointList>, ApiError> {
    let webhooks = state
        .store
        .list_endpoints(auth.account_id)
        .await?
        .into_iter()
        .map(|e| view(e, None))
        .collect();
    Ok(Json(WebhookEndpointList { webhooks }))
}

/// `DELETE /v1/webhooks/:id` → `{"success": true}`; queued deliveries to it are dropped,
/// its delivery history stays.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("ApiKey" = [])), operation_id = "delete_webhook",
    params(crate::openapi::params::WebhookPath),
    responses(
        (status = 200, description = "Deleted; its queued deliveries are dropped", body = Success),
        (status = 404, description = "`Webhook not found`", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(id): PathParam,
) -> Result<Json<Success>, ApiError> {
    endpoints::delete(&state.store, auth.account_id, &id, state.clock.now()).await?;
    Ok(Json(Success::YES))
}

/// `POST /v1/webhooks/:id/test` → 202: a `webhook.test` event queued through the outbox.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", security(("ApiKey" = [])), operation_id = "test_webhook",
    params(crate::openapi::params::WebhookPath),
    responses(
        (status = 202, description = "A `webhook.test` event was queued for the endpoint", body = WebhookTestQueued),
        (status = 404, description = "`Webhook not found`", body = ErrorBody),
        (status = 409, description = "`Webhook endpoint is disabled`", body = ErrorBody),
    ))]
pub async fn test(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(id): PathParam,
) -> Result<(StatusCode, Json<WebhookTestQueued>), ApiError> {
    let event = endpoints::send_test(&state.store, auth.account_id, &id, state.clock.now()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(WebhookTestQueued {
            event: event.event,
            event_id: event.event_id,
        }),
    ))
}

/// The cursor key of one endpoint's delivery list, so no other list's cursor fits it.
fn cursor_key(state: &AppState, endpoint_id: EndpointId) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&state.keys.cursor)
        .expect("HMAC takes any key length");
    mac.update(b"webhook-deliveries/");
    mac.update(&endpoint_id.get().to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The query parameters of one endpoint's delivery list.
pub const DELIVERIES_PARAMS: Allowed = &["after", "limit"];

/// `GET /v1/webhooks/:id/deliveries?limit=&after=`: newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("ApiKey" = [])), operation_id = "webhook_deliveries",
    params(crate::openapi::params::WebhookPath, crate::openapi::params::DeliveriesQuery),
    responses(
        (status = 200, description = "The endpoint's delivery attempts, newest first", body = EndpointDeliveries),
        (status = 400, description = "A bad limit or cursor, or an unknown or repeated parameter", body = ErrorBody),
        (status = 404, description = "`Webhook not found`", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(id): PathParam,
    params: Params,
) -> Result<Json<EndpointDeliveries>, ApiError> {
    let endpoint = endpoints::owned(&state.store, auth.account_id, &id).await?;
    let limit = params.int_in("limit", 1..=100, 50)? as u32;
    let key = cursor_key(&state, endpoint.id);
    let after = params
        .get("after")
        .map(|text| {
            cursor::decode(&key, auth.account_id, text)
                .map_err(|_| ApiError::bad_request(messages::BAD_CURSOR))
        })
        .transpose()?;
    let (deliveries, has_more) = state
        .store
        .endpoint_deliveries(endpoint.id, after, limit)
        .await?;
    let next_cursor = has_more.then(|| deliveries.last()).flatten().map(|last| {
        let at = cursor::Position {
            started_at: last.created_at.unix(),
            id: last.id,
        };
        cursor::encode(&key, auth.account_id, at)
    });
    Ok(Json(EndpointDeliveries {
        webhook_id: endpoint_public_id(endpoint.id),
        deliveries,
        has_more,
        next_cursor,
    }))
}
