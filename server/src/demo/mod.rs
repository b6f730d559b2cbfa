//! Demo data (placeholder until the generator lands).

use crate::cli::DemoArgs;
use crate::storage::Store;

pub async fn run(_store: &Store, _args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("demo generator not implemented yet")
}
