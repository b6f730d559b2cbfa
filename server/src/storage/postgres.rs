//! PostgreSQL, for operators who outgrow one machine: several server instances share it.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::StoreResult;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) async fn connect(url: &str, max_connections: u32) -> StoreResult<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(super::ACQUIRE_TIMEOUT)
        .connect(url)
        .await?)
}

pub(super) async fn migrate(pool: &AnyPool) -> StoreResult<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
