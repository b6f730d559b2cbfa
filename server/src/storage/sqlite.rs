//! The embedded default: a SQLite file (WAL mode), created with its directory on first use.

use std::path::Path;
use std::str::FromStr;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor};

use super::StoreResult;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub(super) async fn connect(url: &str, max_connections: u32) -> StoreResult<AnyPool> {
    // Validate the URL with the SQLite driver's own parser and create the parent directory,
    // so `sqlite://data/callscope.db` works on a fresh checkout.
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !is_memory(file)
    {
        std::fs::create_dir_all(dir)?;
    }
    let on_disk = !is_memory(file);
    if on_disk {
        make_private(file, !url.contains("mode="))?;
    }
    let url = with_create_mode(url);
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(super::ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;")
                    .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    // WAL lets readers proceed while one writer writes; the setting is stored in the file.
    if !url.contains(":memory:") && !url.contains("mode=memory") {
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    if on_disk {
        // SQLite gives new `-wal`/`-shm` files the database's mode; check them anyway.
        make_private(file, false)?;
    }
    Ok(pool)
}

/// The database holds every account's calls and key hashes: like the key file, it and its
/// `-wal` and `-shm` files are readable by the server's user only. Creates the database
/// file with mode 0600 when `create` and it is missing (before SQLite would create it
/// with the umask's mode), and takes group and other access away from any of the three
/// that has it.
fn make_private(file: &Path, create: bool) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

        if create {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            let path = Path::new(&path);
            let mode = match std::fs::metadata(path) {
                Ok(meta) => meta.permissions().mode(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
                tracing::warn!(
                    path = %path.display(),
                    "database file was readable by other users; now owner-only"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (file, create);
    Ok(())
}

pub(super) async fn migrate(pool: &AnyPool) -> StoreResult<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

fn is_memory(file: &Path) -> bool {
    file.to_string_lossy().contains("in-memory")
}

/// Adds `mode=rwc` (create if missing) unless the URL chooses a mode itself.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
