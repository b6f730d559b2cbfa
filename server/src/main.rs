//! `callscope`: serve, migrate, keys create/list/revoke, accounts suspend/activate, demo,
//! simulate.

use std::io::Write;

use anyhow::Context;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::cli::{AccountsCommand, AgentsCommand, Cli, Command, KeysCommand};
use callscope_server::config::Config;
use callscope_server::operator::{self, Revoked};
use callscope_server::storage::{AccountStatus, Store};
use callscope_server::{agents, clock, demo, serve, simulate};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to stderr; stdout carries only what a command prints for scripts.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        // The application connects, migrates and closes its own store.
        Command::Serve(args) => return serve::serve(Config::from_cli(&cli.db, args)?).await,
        // An HTTP client of a running server (the database only to find the Demo agents).
        Command::Simulate(args) => return simulate::run_cli(&cli.db, args).await,
        // Files only: no database.
        Command::Precompress { dir } => {
            for c in callscope_server::precompress::precompress(&dir)? {
                let size = |n: Option<usize>| n.map_or("-".to_owned(), |n| n.to_string());
                println!(
                    "{}: {} bytes, brotli {}, gzip {}",
                    c.path.display(),
                    c.raw,
                    size(c.brotli),
                    size(c.gzip)
                );
            }
            return Ok(());
        }
        other => other,
    };
    let store = Store::connect(&cli.db.database_url, cli.db.db_max_connections)
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("migrating the database")?;
    match command {
        Command::Migrate => {
            tracing::info!("migrations applied");
        }
        Command::Serve(_) | Command::Simulate(_) | Command::Precompress { .. } => {
            unreachable!("run above")
        }
        Command::Keys {
            command: KeysCommand::Create { account, test },
        } => {
            let account = account.trim();
            anyhow::ensure!(!account.is_empty(), "--account must not be empty");
            let mode = if test { KeyMode::Test } else { KeyMode::Live };
            let key = create_key(&store, account, mode, clock::now()).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", key.reveal())?;
        }
        Command::Keys {
            command: KeysCommand::List { account, json },
        } => {
            let keys = operator::list_keys(&store, &account).await?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", operator::keys_json(&account, &keys))?;
            } else {
                write!(out, "{}", operator::keys_table(&keys))?;
            }
        }
        Command::Keys {
            command: KeysCommand::Revoke { key, account },
        } => {
            let now = clock::now();
            let (key, what) =
                match operator::revoke_key(&store, &key, account.as_deref(), now).await? {
                    Revoked::Now(key) => (key, "revoked"),
                    Revoked::Already(key) => (key, "already revoked"),
                };
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{} of account {:?}: {what}",
                key.prefix, key.account_name
            )?;
        }
        Command::Accounts { command } => {
            let (name, status, what) = match command {
                AccountsCommand::Suspend { name } => (name, AccountStatus::Suspended, "suspended"),
                AccountsCommand::Activate { name } => (name, AccountStatus::Active, "active"),
            };
            operator::set_account_status(&store, &name, status, clock::now()).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "account {name:?}: {what}")?;
        }
        Command::Agents { command } => run_agents(&store, command).await?,
        Command::Demo(args) => demo::run(&store, &args, &cli.db.database_url).await?,
    }
    store.close().await;
    Ok(())
}

/// `agents create` prints the new agent's public and numeric ids; `agents list` one line
/// (or JSON object) per agent.
async fn run_agents(store: &Store, command: AgentsCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        AgentsCommand::Create {
            account,
            name,
            rate_per_minute,
            recording,
            recording_rate_per_minute,
            json,
        } => {
            let rates = agents::Rates {
                rate_per_minute,
                recording_enabled: recording,
                recording_rate_per_minute,
            };
            let agent = agents::create(store, account.trim(), &name, rates, clock::now()).await?;
            if json {
                writeln!(out, "{}", agents::to_json(&agent))?;
            } else {
                writeln!(out, "{} {}", agent.public_id, agent.id)?;
            }
        }
        AgentsCommand::List { account, json } => {
            let list = agents::list(store, account.trim()).await?;
            if json {
                let list: Vec<_> = list.iter().map(agents::to_json).collect();
                writeln!(out, "{}", serde_json::json!({ "agents": list }))?;
            } else {
                for agent in &list {
                    writeln!(out, "{}", agents::to_line(agent))?;
                }
            }
        }
    }
    Ok(())
}
