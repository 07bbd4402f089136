//! `terroird`: the Terroir peer node daemon.
//!
//! - `terroird init --genesis FILE --data DIR` founds a node's data
//!   directory and writes `DIR/terroird.toml`.
//! - `terroird run --config FILE` (or `--data DIR`, which reads
//!   `DIR/terroird.toml`) runs the node until SIGINT or SIGTERM (exit 0),
//!   or until its ledger thread dies (exit 70, see `LedgerDied`). `--http`
//!   and `--listen` override the config's addresses. Errors that stop it
//!   from starting exit 1; a config error prints one line,
//!   `error: FILE:LINE:COL: MESSAGE`.
//! - `terroird token --file FILE NAME` makes a submit token, prints it once
//!   and appends its hash to FILE (see `submit_tokens` in the config).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use libp2p::Multiaddr;
use terroir_node::config::ConfigError;
use terroir_node::ledger_task::{panic_text, LedgerDied};
use terroir_node::Config;

/// jemalloc instead of glibc's malloc: glibc keeps a heap arena per thread
/// (tokio's workers, the ledger thread, sled's) and holds on to what each
/// frees, which about doubled the ledger's resident memory in the bench.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "terroird", version, about = "The Terroir peer node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: the ledger, the node key and terroird.toml.
    Init {
        /// The genesis file (JSON).
        #[arg(long)]
        genesis: PathBuf,
        /// The data directory to create.
        #[arg(long)]
        data: PathBuf,
    },
    /// Run the node.
    #[command(group(clap::ArgGroup::new("source").required(true).args(["config", "data"])))]
    Run {
        /// The configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A data directory made by `terroird init`: reads its
        /// terroird.toml (instead of --config).
        #[arg(long)]
        data: Option<PathBuf>,
        /// HTTP API bind address, instead of the config's `http`.
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// libp2p listen address, instead of the config's `listen`
        /// (repeat for several).
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<Multiaddr>,
    },
    /// Make a token for `POST /records`: prints it once, and appends its
    /// name and hash to FILE (the file `submit_tokens` names). The node
    /// reads FILE when it starts.
    Token {
        /// The tokens file (created if missing).
        #[arg(long)]
        file: PathBuf,
        /// Who the token is for, one word (e.g. coop-station-1).
        name: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Kademlia warns every 30 s that it knows no peer to walk
                // from, which a lone node (a demo, the first of a network)
                // is by design; its errors still show.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p_kad=error")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or journal
        // gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    log_panics();
    match real_main(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<LedgerDied>() {
            // The node ran and logged; its death goes to the same log.
            Some(died) => {
                tracing::error!(
                    exit_code = LedgerDied::EXIT_CODE,
                    "terroird: {died}; stopped"
                );
                ExitCode::from(LedgerDied::EXIT_CODE)
            }
            None => {
                match e.downcast_ref::<ConfigError>() {
                    Some(config) => eprintln!("error: {config}"),
                    None => eprintln!("terroird: {e:#}"),
                }
                ExitCode::FAILURE
            }
        },
    }
}

/// Logs a panic as one error line (thread, place, message) instead of
/// std's multi-line report, so it reads like the rest of the log; the
/// backtrace follows only when `RUST_BACKTRACE` asks for it.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = panic_text(info.payload());
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(thread, place, %backtrace, "panic: {message}");
        } else {
            tracing::error!(thread, place, "panic: {message}");
        }
    }));
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { genesis, data } => {
            let (network, peer) = terroir_node::init(&data, &genesis)?;
            let genesis = std::fs::canonicalize(&genesis).unwrap_or(genesis);
            let data_abs = std::fs::canonicalize(&data).unwrap_or(data.clone());
            let path = data.join("terroird.toml");
            if !path.exists() {
                let cfg = Config::new(data_abs, genesis);
                std::fs::write(&path, cfg.to_toml()?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("network {network}");
            println!("peer id {peer}");
            println!("config  {}", path.display());
            Ok(())
        }
        Command::Token { file, name } => {
            let (token, line) = terroir_node::http::tokens::new_token(&name)?;
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            writeln!(f, "{line}").with_context(|| format!("writing {}", file.display()))?;
            f.sync_all()
                .with_context(|| format!("writing {}", file.display()))?;
            eprintln!(
                "token for {name} added to {} (restart the node to use it); it is shown only now:",
                file.display()
            );
            println!("{token}");
            Ok(())
        }
        Command::Run {
            config,
            data,
            http,
            listen,
        } => {
            let path = match (config, data) {
                (Some(config), _) => config,
                (None, Some(data)) => data.join("terroird.toml"),
                (None, None) => anyhow::bail!("run needs --config FILE or --data DIR"),
            };
            let mut cfg = Config::load(&path)?;
            if let Some(http) = http {
                cfg.http = http;
            }
            if !listen.is_empty() {
                cfg.listen = listen.iter().map(ToString::to_string).collect();
            }
            let settings = cfg.settings_of(&path)?;
            let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
            rt.block_on(terroir_node::run(settings, shutdown_signal()))
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
