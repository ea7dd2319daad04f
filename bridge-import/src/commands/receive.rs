//! `receive --listen ADDR:PORT --inbox DIR --policy POLICY [--state DIR] [--max-transfers N]
//! [--max-bundle SIZE] [--max-memory SIZE] [--max-disk SIZE] [--idle 10m] [--silence 10s]
//! [--metrics FILE] [--log text|json]`: the arguments, checked in one place
//! ([`receive_settings`]), then the receive loop ([`crate::receive`]) around
//! [`carriers::diode::receive::Receiver`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bridge_cli::failure::UsageError;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::logging::{self, LogFormat};
use bridge_cli::time_arg::parse_duration;
use carriers::diode::receive::Config;
use carriers::diode::receive::config::{DEFAULT_MAX_MEMORY, DEFAULT_MAX_TRANSFERS};

/// Arguments of `receive`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReceiveArgs {
    /// The address and UDP port to listen on, such as 10.77.2.2:5000 or [::]:5000 (the
    /// diode's receiving side). Nothing is ever sent from it.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// The watched inbox: each complete bundle whose bytes match its signed header appears
    /// there under its name, at once and whole (run `bridge-import watch` on it).
    #[arg(long, value_name = "DIR")]
    pub inbox: PathBuf,
    /// This zone's trust policy (TOML): only headers signed by its keys, for this zone, open
    /// a transfer.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// The receiver's own state (the log of delivered bundles); default `.INBOX.diode`
    /// beside the inbox.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Transfers collected at once; a header beyond them is refused until one ends.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TRANSFERS, value_parser = parse_transfers)]
    pub max_transfers: usize,
    /// The largest bundle taken, such as 2G (default: what the policy's limits allow,
    /// plus 5%).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_bundle: Option<u64>,
    /// Memory for symbols of blocks being decoded, across transfers, such as 256M; when it
    /// is full the least advanced block gives way.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_memory)]
    pub max_memory: u64,
    /// Disk for partial files, across transfers (default: twice --max-bundle); a transfer
    /// that would go over it, or over the free space, is refused.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_disk: Option<u64>,
    /// A transfer silent this long is closed (its partial file kept while disk allows).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_positive)]
    pub idle: Duration,
    /// Nothing authenticated (header or heartbeat) for this long reports the link silent.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_positive)]
    pub silence: Duration,
    /// Rewrite this metrics file (Prometheus text format) every second.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// How the service logs on standard error: one line of text, or one JSON object, per
    /// event (for a SIEM; level filter: ZONEBRIDGE_LOG).
    #[arg(
        long = "log",
        alias = "log-format",
        value_enum,
        value_name = "FORMAT",
        default_value_t
    )]
    pub log: LogFormat,
}

/// `ADDR:PORT`, with a port other than 0.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not ADDR:PORT (such as 10.77.2.2:5000 or [::]:5000)"))?;
    if addr.port() == 0 {
        return Err(format!(
            "{text:?} has port 0: give the port the sender sends to"
        ));
    }
    Ok(addr)
}

fn parse_transfers(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n @ 1..=64) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of transfers from 1 to 64"
        )),
    }
}

/// A size: a number with an optional binary suffix K, M, G or T (KiB, MiB, ... also read),
/// at least 1 byte.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a size like 512K, 256M, 2G or 1T (powers of 1024)");
    let trimmed = text.trim();
    let at = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(at);
    let count: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim_end_matches("iB").trim_end_matches('B') {
        "" => 0,
        "k" | "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    let bytes = count.checked_mul(1 << shift).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(format!("{text:?} is 0: give a size of at least 1 byte"));
    }
    Ok(bytes)
}

/// `--max-memory`: at least 1 MiB (one block of a demanding sender must fit).
fn parse_memory(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < 1 << 20 {
        return Err(format!(
            "{text:?} is too small: give at least 1M (default {}M)",
            DEFAULT_MAX_MEMORY >> 20
        ));
    }
    Ok(bytes)
}

fn parse_positive(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(format!("{text:?} is 0: give at least 1s"));
    }
    Ok(duration)
}

/// Checks every argument and file before the receiver starts.
pub fn receive_settings(
    args: &ReceiveArgs,
) -> anyhow::Result<(Config, bundle_format::policy::TrustPolicy)> {
    if !args.inbox.is_dir() {
        return Err(UsageError(format!(
            "the inbox {} is not a folder\nHint: create it (the same folder `bridge-import watch --inbox` watches)",
            args.inbox.display()
        ))
        .into());
    }
    let policy = load_policy(&args.policy)?;
    let mut config = Config::new(args.inbox.clone(), policy.limits().max_total_bytes);
    if let Some(state) = &args.state {
        config.state = state.clone();
    }
    config.max_transfers = args.max_transfers;
    config.max_memory = args.max_memory;
    if let Some(max_bundle) = args.max_bundle {
        config.max_bundle = max_bundle;
        config.max_disk = max_bundle.saturating_mul(2);
    }
    if let Some(max_disk) = args.max_disk {
        if max_disk < config.max_bundle {
            return Err(UsageError(format!(
                "--max-disk {max_disk} is smaller than the largest bundle ({} bytes): no bundle of that size could ever be collected\nHint: give --max-disk at least --max-bundle, or a smaller --max-bundle",
                config.max_bundle
            ))
            .into());
        }
        config.max_disk = max_disk;
    }
    config.idle = args.idle;
    config.silence = args.silence;
    Ok((config, policy))
}

/// Runs the receiver until SIGTERM or SIGINT.
pub fn run(args: &ReceiveArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.log)?;
    let (config, policy) = receive_settings(args)?;
    crate::receive::run(args.listen, config, policy, args.metrics.as_deref())?.print(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_refuse_the_rest() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in ["", "M", "0", "1.5G", "-1M", "12Q", "99999999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_memory("512K").is_err());
    }

    #[test]
    fn listen_addresses_need_a_port() {
        assert!(parse_listen("10.77.2.2:5000").is_ok());
        assert!(parse_listen("[::]:5000").is_ok());
        for bad in [
            "10.77.2.2",
            "10.77.2.2:0",
            "host:5000",
            ":5000",
            "10.77.2.2:70000",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
