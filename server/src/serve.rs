//! `callscope serve`: the application from the command line's config, until SIGINT or
//! SIGTERM.

use crate::application::Application;
use crate::config::Config;

/// Runs the server until SIGINT or SIGTERM, then drains (see `Application::run_until`).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, "listening");
    // One line on stdout that scripts and tests can wait for.
    println!("callscope listening on http://{addr}");
    app.run_until(shutdown_signal()).await
}

/// Completes on SIGINT or SIGTERM (also what stops `callscope simulate`).
pub(crate) async fn shutdown_signal() {
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
