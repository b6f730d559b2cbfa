//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{AppState, Settings, router};
use crate::cli::{KeyArgs, ServeArgs};
use crate::live::LiveStore;
use crate::recordings::{AwsCredentials, Recordings};
use crate::secrets::{KeyError, Keys, ServerKey, default_key_file};
use crate::storage::Store;
use crate::webhooks::{DispatchConfig, Dispatcher, SystemClock, WebhookSettings};

/// The server key from the flags, the environment or the default key file.
pub fn server_key(args: &KeyArgs, database_url: &str) -> Result<ServerKey, KeyError> {
    if let Some(text) = &args.link_key {
        return ServerKey::from_base64(text);
    }
    let file = args
        .link_key_file
        .clone()
        .or_else(|| default_key_file(database_url))
        .ok_or(KeyError::Missing)?;
    ServerKey::load_or_create(&file)
}

/// Runs the server until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(store: Store, args: ServeArgs, database_url: &str) -> anyhow::Result<()> {
    let key = server_key(&args.key, database_url)?;
    let live = match &args.redis_url {
        Some(url) => LiveStore::redis(url, &args.redis_prefix)
            .await
            .context("connecting to Redis")?,
        None => LiveStore::in_process(),
    };
    let recordings = match args.recordings_bucket.as_deref() {
        None => None,
        Some(bucket) => {
            let recordings = Recordings::from_settings(
                bucket,
                &args.s3_region,
                args.s3_endpoint.as_deref(),
                AwsCredentials::from_env()?,
            )?;
            tracing::info!(
                bucket,
                region = recordings.region(),
                "recordings configured"
            );
            Some(recordings)
        }
    };
    if !args.dist.join("index.html").is_file() {
        tracing::warn!(dist = %args.dist.display(), "viewer not built: no index.html in the dist directory");
    }
    let settings = Settings {
        dist: args.dist.clone(),
        debug_miss_limit: args.debug_miss_limit,
    };
    let keys = Keys::from_server_key(&key);
    let dispatcher = (args.webhook_concurrency > 0).then(|| {
        let config = DispatchConfig {
            timeout: Duration::from_secs(args.webhook_timeout),
            concurrency: args.webhook_concurrency,
            allow_private: args.webhook_allow_private,
            ..DispatchConfig::default()
        };
        Dispatcher::new(
            store.clone(),
            keys.webhook_secret,
            config,
            Arc::new(SystemClock),
        )
        .spawn()
    });
    let state = AppState::new(store, live, keys, settings)
        .with_webhook_settings(WebhookSettings {
            allow_private: args.webhook_allow_private,
        })
        .with_trusted_proxies(args.trusted_proxies.clone())
        .with_recordings(recordings);
    let recorder = state.debug.recorder.clone();
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // One line on stdout that scripts and tests can wait for.
    println!("callscope listening on http://{addr}");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // Views counted in memory are written before main closes the pool.
    recorder.shutdown().await;
    // Attempts in flight finish and are recorded; anything else waits in the outbox.
    if let Some(dispatcher) = dispatcher {
        dispatcher.shutdown().await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
