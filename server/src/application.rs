//! The application: everything `serve` runs, wired in one place. `main` builds it from the
//! command line's `Config`; the server's tests build it from theirs, with their own store,
//! live store or clock, so they exercise this same wiring.
//!
//! `build` does everything that can fail (connect, migrate, bind) and starts nothing;
//! `run_until` starts the jobs (view counting, webhook delivery, recording retention),
//! serves until told to stop, then drains: in-flight requests finish, counted views are
//! written, webhook attempts and recording deletes in flight finish and are recorded.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{AppState, router};
use crate::changes;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::debug_link::recorder::{ViewRecorder, ViewWriter};
use crate::debug_link::{DebugLinks, LiveViews};
use crate::http_server::{self, ConnectionLimits};
use crate::live::LiveStore;
use crate::recordings::download::Downloader;
use crate::recordings::retention::Retention;
use crate::storage::Store;
use crate::telephony::{SimulatedProvider, Telephony, TelephonyConfig};
use crate::telnyx::TelnyxClient;
use crate::webhooks::Dispatcher;

/// A built application, bound to its address, not yet serving.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    /// `GET /metrics`'s listener, when `--metrics-bind` is set.
    metrics: Option<TcpListener>,
    views: ViewWriter,
    /// Whether the store was connected here (and so is closed here).
    owns_store: bool,
}

/// Parts a caller may supply instead of having them made from the config.
pub struct ApplicationBuilder {
    config: Config,
    store: Option<Store>,
    live: Option<LiveStore>,
    clock: Option<SharedClock>,
}

impl ApplicationBuilder {
    /// Uses an already migrated store (its owner closes it).
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses this live store instead of the config's Redis or an in-process one.
    pub fn live(mut self, live: LiveStore) -> Self {
        self.live = Some(live);
        self
    }

    /// Uses this clock instead of the wall clock, for handlers and jobs alike.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Connects what was not supplied, binds the listen address and wires the state.
    pub async fn build(self) -> anyhow::Result<Application> {
        let config = self.config;
        let owns_store = self.store.is_none();
        let store = match self.store {
            Some(store) => store,
            None => {
                let store = Store::connect(&config.database_url, config.db_max_connections)
                    .await
                    .context("connecting to the database")?;
                store.migrate().await.context("migrating the database")?;
                store
            }
        };
        let live = match (self.live, &config.redis_url) {
            (Some(live), _) => live,
            (None, Some(url)) => LiveStore::redis(url, &config.redis_prefix)
                .await
                .context("connecting to Redis")?,
            (None, None) => LiveStore::in_process(),
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        match &config.recordings {
            Some(recordings) => {
                tracing::info!(store = recordings.describe(), "recordings configured");
                if config.recording_retention_interval.is_zero() {
                    tracing::info!("recording retention off in this process (interval 0)");
                }
            }
            None => tracing::info!(
                "recordings not configured: no --recordings-bucket or --recordings-dir"
            ),
        }
        if !config.dist.join("index.html").is_file() {
            tracing::warn!(dist = %config.dist.display(), "viewer not built: no index.html in the dist directory");
        }
        let (recorder, views) = ViewRecorder::new(store.clone(), config.view_flush_every);
        let streams = LiveViews::new(store.clone(), config.live_streams);
        // With Redis, changes reach the live streams of every instance.
        if let LiveStore::Redis { client, prefix, .. } = &live {
            changes::redis_bridge::start(store.changes().clone(), client.clone(), prefix);
        }
        let debug = DebugLinks::new(config.debug_miss_limit, &live, recorder, streams);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let metrics = match config.metrics_bind {
            Some(addr) => {
                crate::metrics::handle();
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the metrics address {addr}"))?,
                )
            }
            None => None,
        };
        let telephony = match (config.telephony, &config.telnyx.api_key) {
            (TelephonyConfig::Telnyx, Some(key)) => Some(Telephony::Telnyx(
                TelnyxClient::new(key.clone(), config.telnyx.api_url.clone())
                    .context("setting up the Telnyx client")?,
            )),
            (TelephonyConfig::Telnyx, None) => None,
            (TelephonyConfig::Simulated(timings), _) => {
                tracing::info!(
                    "telephony: simulated (live calls are controlled by the built-in simulator)"
                );
                Some(Telephony::Simulated(SimulatedProvider::new(
                    store.clone(),
                    live.clone(),
                    clock.clone(),
                    timings,
                )))
            }
        };
        if config.telnyx.public_key.is_none() {
            tracing::info!("Telnyx webhooks not configured: POST /telnyx/webhooks accepts nothing");
        }
        let mut state = AppState::new(Arc::new(config), store, live, clock, debug);
        state.telephony = telephony;
        Ok(Application {
            state,
            listener,
            metrics,
            views,
            owns_store,
        })
    }
}

impl Application {
    /// Starts building from `config`.
    pub fn builder(config: Config) -> ApplicationBuilder {
        ApplicationBuilder {
            config,
            store: None,
            live: None,
            clock: None,
        }
    }

    /// Everything from the config alone.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::builder(config).build().await
    }

    /// The address it listens on (the port `:0` picked, for one).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `GET /metrics` listens on, when it does.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// What handlers see.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the jobs and serves until `shutdown` completes, then drains in-flight
    /// requests and stops the jobs cleanly.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let views = tokio::spawn(self.views.run());
        let config = &state.config;
        let retention = match &config.recordings {
            Some(recordings) if !config.recording_retention_interval.is_zero() => Some(
                Retention::new(
                    state.store.clone(),
                    recordings.clone(),
                    state.clock.clone(),
                    config.recording_retention_interval,
                )
                .spawn(),
            ),
            _ => None,
        };
        let dispatcher = (config.webhooks.concurrency > 0).then(|| {
            Dispatcher::new(
                state.store.clone(),
                state.keys.webhook_secret,
                config.webhooks.clone(),
                state.clock.clone(),
            )
            .spawn()
        });
        let simulated = matches!(state.telephony, Some(Telephony::Simulated(_)));
        let downloads = Downloader::new(
            state.store.clone(),
            config.recordings.clone(),
            state.clock.clone(),
            config.recording_downloads.clone(),
            simulated,
        )
        .spawn();
        let limits = ConnectionLimits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
        };
        let (metrics_stop, metrics_stopped) = tokio::sync::watch::channel(false);
        let metrics = self.metrics.map(|listener| {
            let mut stopped = metrics_stopped;
            let router = crate::metrics::router(state.clone());
            tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.changed().await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            })
        });
        // Open live streams end when shutdown begins, so their connections can drain.
        let streams = state.debug.streams.clone();
        let shutdown = async move {
            shutdown.await;
            streams.close_all();
            let _ = metrics_stop.send(true);
        };
        let served =
            http_server::serve(self.listener, router(state.clone()), limits, shutdown).await;
        // The simulator's pending events stop before the pool closes.
        if let Some(telephony) = &state.telephony {
            telephony.shutdown().await;
        }
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        // Downloads in flight are stored and recorded; queued ones wait for the next start.
        downloads.shutdown().await;
        // Views counted in memory are written before the pool closes.
        state.debug.recorder.shutdown().await;
        let _ = views.await;
        // Attempts in flight finish and are recorded; anything else waits in the outbox.
        if let Some(dispatcher) = dispatcher {
            dispatcher.shutdown().await;
        }
        // Deletes in flight finish and are recorded; the rest waits for the next pass.
        if let Some(retention) = retention {
            retention.shutdown().await;
        }
        if self.owns_store {
            state.store.close().await;
        }
        Ok(served?)
    }
}
