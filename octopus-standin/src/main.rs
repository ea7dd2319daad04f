//! `octopus-standin`: starts the server, prints its URL, serves until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

mod cli;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser as _;

use octopus_standin::app::{App, Config};
use octopus_standin::{fresh_store, seed, serve, store};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("octopus-standin: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("octopus-standin: {err:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    if !cli.listen.ip().is_loopback() {
        bail!(
            "--listen {} is not a loopback address; the stand-in serves this machine only (use 127.0.0.1:PORT)",
            cli.listen
        );
    }
    if cli.api_key.trim().is_empty() {
        bail!("--api-key is empty; give the key clients will send");
    }
    if cli.role_key.iter().any(|r| r.key == cli.api_key) {
        bail!("a --role-key uses the admin --api-key; give each role its own key");
    }
    let path_base = cli.path_base.trim_end_matches('/').to_owned();
    if !path_base.is_empty()
        && (!path_base.starts_with('/')
            || path_base.ends_with("/api")
            || !path_base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b)))
    {
        bail!(
            "--path-base {:?} is not a path such as /octopus (a leading '/', letters, digits, '-', '_', '.', and not ending in /api)",
            cli.path_base
        );
    }
    // Package files and task scratch folders: beside the state file when there is one (the
    // scratch folder emptied, as a crash may have left a task's files), else in temporary
    // folders that go away with the process.
    let (blobs, _blob_guard) = folder(cli.data.as_deref(), "packages", false)?;
    let (scratch, _scratch_guard) = folder(cli.data.as_deref(), "tasks", true)?;
    let existing = cli.data.as_ref().filter(|d| d.exists());
    let loaded = match existing {
        Some(path) => {
            if cli.seed.is_some() {
                eprintln!(
                    "octopus-standin: {} exists, so --seed is ignored (remove the file to seed again)",
                    path.display()
                );
            }
            Some(store::load(path)?)
        }
        None => None,
    };
    let seeded = loaded.is_none();
    let config = Config {
        api_key: cli.api_key.clone(),
        data: cli.data.clone(),
        blobs,
        scratch,
        script_timeout: Duration::from_secs(cli.script_timeout.max(1)),
        role_keys: cli.role_key.clone(),
        profile: cli.profile,
        server_version: cli
            .server_version
            .clone()
            .unwrap_or_else(|| cli.profile.server_version().to_owned()),
        path_base,
    };
    let app = Arc::new(App::new(loaded.unwrap_or_else(fresh_store), config));
    if seeded {
        if let Some(path) = &cli.seed {
            let scenario = seed::read(path)?;
            app.hold_writes(true);
            seed::apply(&app, &scenario)
                .await
                .with_context(|| format!("cannot apply the seed {}", path.display()))?;
            app.hold_writes(false);
        }
        // Write the fresh (or seeded) state out at once, so a restart finds it.
        app.write(|_| Ok(()))
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "http://{address}").context("cannot write the URL")?;
    stdout.flush().context("cannot write the URL")?;
    serve(listener, app, shutdown_signal())
        .await
        .context("the server stopped")?;
    Ok(())
}

/// `<data>.<name>/` (emptied first when `fresh`), or a temporary folder and its guard.
fn folder(
    data: Option<&std::path::Path>,
    name: &str,
    fresh: bool,
) -> anyhow::Result<(std::path::PathBuf, Option<tempfile::TempDir>)> {
    match data {
        Some(data) => {
            let mut dir = data.as_os_str().to_owned();
            dir.push(format!(".{name}"));
            let dir = std::path::PathBuf::from(dir);
            if fresh && dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot empty {}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Ok((dir, None))
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix(&format!("octopus-standin-{name}-"))
                .tempdir()
                .with_context(|| format!("cannot create a temporary {name} folder"))?;
            Ok((tmp.path().to_owned(), Some(tmp)))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
