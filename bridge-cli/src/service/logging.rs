//! Service logs: one event per line on standard error, as text or as JSON objects (`--log
//! json`) that a SIEM ingests without parsing text. `ZONEBRIDGE_LOG` sets the level filter
//! (tracing's `EnvFilter` syntax; default `info`).

use tracing_subscriber::EnvFilter;

/// The environment variable holding the level filter, such as `debug` or `info,carriers=debug`.
pub const LOG_FILTER_VAR: &str = "ZONEBRIDGE_LOG";

/// How a service writes its log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`), `target`.
    Json,
}

/// Installs the global log writer; a second call (or one after another writer was installed)
/// changes nothing. A filter in `ZONEBRIDGE_LOG` that does not parse is refused, naming it.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var(LOG_FILTER_VAR) {
        Ok(text) => EnvFilter::try_new(&text).map_err(|e| {
            anyhow::anyhow!(
                "{LOG_FILTER_VAR}={text:?} is not a log filter: {e}\nHint: use a level such as info or debug, or info,carriers=debug"
            )
        })?,
        Err(_) => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    // Already installed (a second service in the same process, or a test): keep that one.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(false)
            .with_current_span(false)
            .try_init(),
    };
    Ok(())
}
