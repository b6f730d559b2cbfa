//! Webhook endpoints of the caller's account: create, list, delete, send a test event, and
//! read one endpoint's delivery attempts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callscope_shared::{
    EndpointDeliveries, NewWebhookEndpoint, WEBHOOK_EVENTS, WebhookEndpoint, WebhookEndpointList,
    WebhookTestQueued,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::params::Params;
use crate::app::AppState;
use crate::auth::Auth;
use crate::clock::{self, UnixTime};
use crate::cursor;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::EndpointId;
use crate::storage::{EndpointRecord, NewEndpoint};
use crate::webhooks::{
    MAX_ENDPOINTS, SigningSecret, endpoint_public_id, events, parse_endpoint_id, target,
};

fn not_found() -> ApiError {
    ApiError::not_found("Webhook not found")
}

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

/// The account's endpoint named by a path id, or a 404.
async fn owned(state: &AppState, auth: Auth, id: &str) -> Result<EndpointRecord, ApiError> {
    let id = parse_endpoint_id(id).ok_or_else(not_found)?;
    state
        .store
        .get_endpoint(auth.account_id, id)
        .await?
        .ok_or_else(not_found)
}

/// Subscribed events: known names only, each once, in the order given.
fn parse_events(events: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for name in events.unwrap_or_default() {
        if !WEBHOOK_EVENTS.contains(&name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "events must contain only: {}",
                WEBHOOK_EVENTS.join(", ")
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// `POST /v1/webhooks` → 201 with the endpoint and its signing secret (shown only here).
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<WebhookEndpoint>), ApiError> {
    let events = parse_events(body.events)?;
    let url = target::validate(body.url.trim(), state.webhooks.allow_private)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if state.store.list_endpoints(auth.account_id).await?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::bad_request(format!(
            "An account can have at most {MAX_ENDPOINTS} webhook endpoints"
        )));
    }
    let secret = SigningSecret::generate();
    let record = state
        .store
        .insert_endpoint(&NewEndpoint {
            account_id: auth.account_id,
            url: url.to_string(),
            events,
            secret_enc: secret.seal(&state.keys.webhook_secret),
            created_at: UnixTime(clock::now()),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(view(record, Some(secret.reveal()))),
    ))
}

/// `GET /v1/webhooks`
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
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_endpoint_id(&id).ok_or_else(not_found)?;
    if !state
        .store
        .delete_endpoint(auth.account_id, id, UnixTime(clock::now()))
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(json!({ "success": true })))
}

/// `POST /v1/webhooks/:id/test` → 202: a `webhook.test` event queued through the outbox.
pub async fn test(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookTestQueued>), ApiError> {
    let endpoint = owned(&state, auth, &id).await?;
    if !endpoint.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Webhook endpoint is disabled",
        ));
    }
    let now = UnixTime(clock::now());
    let event = events::test_event(&endpoint_public_id(endpoint.id), now);
    if !state
        .store
        .enqueue_for_endpoint(auth.account_id, endpoint.id, &event, now)
        .await?
    {
        // Disabled or deleted between the two reads.
        return Err(not_found());
    }
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

/// `GET /v1/webhooks/:id/deliveries?limit=&after=`: newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<EndpointDeliveries>, ApiError> {
    let endpoint = owned(&state, auth, &id).await?;
    let params = Params::new(query, &["after", "limit"])?;
    let limit = params.int_in("limit", 1..=100, 50)? as u32;
    let key = cursor_key(&state, endpoint.id);
    let after = params
        .get("after")
        .map(|text| {
            cursor::decode(&key, auth.account_id, text).map_err(|_| {
                ApiError::bad_request("after must be a next_cursor value returned by this endpoint")
            })
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
