//! `send`: bundles over a one-way diode (docs/diode.md 5). Given files, each is sent with
//! its rounds and the command exits; with `--outbox DIR` it is a service that sends every
//! bundle appearing in DIR, in name order, and moves each to DIR/sent/.

use bridge_cli::safe::Shown;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bridge_cli::failure::{Refused, UsageError};
use bridge_cli::output::Output;
use bridge_cli::service::logging::{self, LogFormat};
use bridge_cli::service::stop;
use bundle_format::keys::SigningKey;
use carriers::diode::send::outbox::{Next, Outbox};
use carriers::diode::send::{
    Family, PrepareError, Prepared, Requested, SendParams, SendReport, Sender, prepare,
};
use carriers::metrics::{Metric, MetricKind};

/// How often an idle outbox is looked at.
const SCAN_EVERY: Duration = Duration::from_millis(250);
/// How long a service waits before trying a bundle again after a failure to send it.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Arguments of `send`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The receiver's address across the diode: IPV4:PORT or [IPV6]:PORT.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_to)]
    pub to: SocketAddr,
    /// The key that signs the transfer headers and heartbeats: a signer the receiver's
    /// policy trusts for the bundles' channel (mode 0600).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The link rate to keep under, in bits per second, IP and UDP headers included, with
    /// an optional k, M or G (1000s): give just under the diode's rate, such as 95M.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub rate: u64,
    /// The link's MTU: sets the symbol size (1500 over IPv4: 1440-byte symbols).
    #[arg(long, value_name = "BYTES", default_value_t = 1500)]
    pub mtu: u32,
    /// Repair symbols per block and round, as a share of its source symbols (0%..=500%):
    /// the loss you expect plus a margin (the receiver's advice says what was needed).
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = parse_overhead)]
    pub overhead: u16,
    /// Rounds per bundle: each round after the first sends fresh repair symbols,
    /// K x (1 + overhead) per block, for links with bursts of loss or a receiver that may
    /// restart.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub rounds: u32,
    /// With --outbox: after the last bundle's rounds, keep sending fresh rounds of it until
    /// the next bundle appears.
    #[arg(long)]
    pub carousel: bool,
    /// Blocks interleaved symbol by symbol, so that a burst of loss spreads over them
    /// (memory: about 2 x this many blocks).
    #[arg(long, value_name = "BLOCKS", default_value_t = 4)]
    pub interleave: u32,
    /// Source symbols per block (at most 8192 and 16 MiB). Larger blocks need less overhead
    /// for the same loss (the loss per block varies less); docs/benchmarks.md.
    #[arg(long, value_name = "SYMBOLS", default_value_t = 2048)]
    pub block_symbols: u32,
    /// Time between the signed heartbeats that let the receiver report a silent link
    /// (such as 1s or 500ms).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub heartbeat: Duration,
    /// Serve this outbox: send every bundle appearing in it, in name order, then move it to
    /// DIR/sent/. SIGTERM finishes the bundle in hand and exits 0.
    #[arg(long, value_name = "DIR", conflicts_with = "files")]
    pub outbox: Option<PathBuf>,
    /// With --outbox: a file is sent once it has not changed for this long (files renamed
    /// into the outbox whole can use 0).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = bridge_cli::time_arg::parse_duration)]
    pub settle: Duration,
    /// Write the metrics (Prometheus text format) to this file after each bundle and
    /// heartbeat.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// A folder for the sender's state: the report of the last bundle sent
    /// (last-sent.json). Made (mode 0700) if missing.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Log format on standard error: one line of text per event, or JSON lines for a SIEM.
    #[arg(long = "log-format", alias = "log", value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The bundle files to send, each once with its rounds (or --outbox).
    #[arg(value_name = "FILE", required_unless_present = "outbox")]
    pub files: Vec<PathBuf>,
}

fn parse_to(text: &str) -> Result<SocketAddr, String> {
    let address: SocketAddr = text.parse().map_err(|_| {
        format!("{text:?} is not an address and port such as 10.77.2.2:7000 or [fd00::2]:7000")
    })?;
    if address.port() == 0 || address.ip().is_unspecified() {
        return Err(format!(
            "{text:?} names no receiver (port 0 or address 0.0.0.0/::); give the receiver's address and port"
        ));
    }
    Ok(address)
}

/// A rate in bits per second: digits, an optional fraction, an optional k, M or G.
fn parse_rate(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "{text:?} is not a rate; give bits per second such as 95M, 500k or 1G (k, M, G: 1000s)"
        )
    };
    let (number, scale) = match text.strip_suffix(['k', 'K']) {
        Some(n) => (n, 1e3),
        None => match text.strip_suffix('M') {
            Some(n) => (n, 1e6),
            None => match text.strip_suffix('G') {
                Some(n) => (n, 1e9),
                None => (text, 1.0),
            },
        },
    };
    let digits = number.split_once('.').map_or((number, ""), |(a, b)| (a, b));
    if digits.0.is_empty()
        || !digits.0.bytes().all(|b| b.is_ascii_digit())
        || !digits.1.bytes().all(|b| b.is_ascii_digit())
        || number.ends_with('.')
    {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bits = (value * scale).round();
    if bits < 1.0 {
        return Err(format!(
            "{text:?} is no rate: 0 bits/s sends nothing; give the diode's rate or just under it, such as 95M"
        ));
    }
    if bits > 1e12 {
        return Err(format!(
            "{text:?} is above 1000G; give the diode's real rate"
        ));
    }
    Ok(bits as u64)
}

/// A percentage, `5%` or `2.5%`, in thousandths, 0%..=500%.
fn parse_overhead(text: &str) -> Result<u16, String> {
    let bad = || format!("{text:?} is not a percentage such as 5% or 2.5% (0%..=500%)");
    let number = text.strip_suffix('%').ok_or_else(bad)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || fraction.len() > 1
        || number.ends_with('.')
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 4
    {
        return Err(bad());
    }
    let tenths: u32 = format!("{whole}{fraction:0<1}")
        .parse()
        .map_err(|_| bad())?;
    if tenths > 5000 {
        return Err(bad());
    }
    u16::try_from(tenths).map_err(|_| bad())
}

/// `500ms`, or a duration as the other commands take it (`1s`, `2m`).
fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.strip_suffix("ms") {
        Some(ms) if !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()) => ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("{text:?} is not a duration such as 500ms or 1s")),
        _ => bridge_cli::time_arg::parse_duration(text),
    }
}

/// Runs `send`.
pub fn run(args: &SendArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.log_format)?;
    if args.carousel && args.outbox.is_none() {
        return Err(UsageError(
            "--carousel keeps sending the last bundle of an outbox until the next appears; it needs --outbox\nHint: for given files use --rounds N".to_owned(),
        )
        .into());
    }
    let params = Requested {
        mtu: args.mtu,
        family: if args.to.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        },
        block_symbols: args.block_symbols,
        overhead_per_mille: args.overhead,
        rate_bps: args.rate,
        interleave: args.interleave,
        rounds: args.rounds,
        heartbeat: args.heartbeat,
    }
    .check()
    .map_err(|e| UsageError(e.to_string()))?;
    let key = SigningKey::read_pem_file(&args.key)?;
    if let Some(state) = &args.state {
        make_private_dir(state)?;
    }
    // Opening the socket sends nothing: files are still refused before any datagram goes.
    let sender = open_sender(args, key, params)?;
    let mut service = Service {
        args,
        metrics: Counters::default(),
        sender,
        params,
    };
    match &args.outbox {
        Some(dir) => service.serve(dir),
        None => service.send_files(out),
    }
}

/// What the metrics file counts.
#[derive(Debug, Default)]
struct Counters {
    bundles: u64,
    last_send_unix: Option<u64>,
}

struct Service<'a> {
    args: &'a SendArgs,
    metrics: Counters,
    sender: Sender,
    params: SendParams,
}

/// A sender on a UDP socket connected to `--to`.
fn open_sender(args: &SendArgs, key: SigningKey, params: SendParams) -> anyhow::Result<Sender> {
    let bind: SocketAddr = if args.to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(bind).context("cannot open a UDP socket")?;
    socket.connect(args.to).with_context(|| {
        format!(
            "cannot send to {}\nHint: check --to and the route to the diode",
            args.to
        )
    })?;
    Sender::new(socket, key, params).context("cannot start the sender")
}

impl Service<'_> {
    /// Files mode: every file is checked (and hashed) before anything is sent.
    fn send_files(&mut self, out: &Output) -> anyhow::Result<()> {
        let mut prepared = Vec::with_capacity(self.args.files.len());
        for path in &self.args.files {
            prepared.push(prepare(path, self.sender.key(), &self.params).map_err(prepare_error)?);
        }
        let mut reports = Vec::new();
        for transfer in &prepared {
            let report = self
                .sender
                .send(transfer)
                .with_context(|| format!("sending {} stopped", transfer.path.display()))?;
            self.sent(transfer, &report);
            reports.push(report);
        }
        self.write_metrics();
        out.success(&serde_json::json!({ "sent": reports }), |w| {
            for report in &reports {
                writeln!(
                    w,
                    "sent {} ({} bytes) as transfer {}: {} datagrams, {} repair symbols, {} round(s), {:.1} Mbit/s on the link",
                    report.name,
                    report.size,
                    report.transfer,
                    report.datagrams,
                    report.repair_symbols,
                    report.rounds,
                    report.rate_bps as f64 / 1e6
                )?;
            }
            Ok(())
        })
    }

    /// Outbox mode: the service.
    fn serve(&mut self, dir: &Path) -> anyhow::Result<()> {
        let mut outbox = Outbox::open(dir, self.args.settle)?;
        stop::enter_service_mode();
        tracing::info!(
            event = "diode.send-started",
            outbox = %Shown(dir.display()),
            to = %self.args.to,
            rate_bps = self.params.rate_bps,
            symbol_size = self.params.symbol_size,
            overhead_per_mille = self.params.overhead_per_mille,
            "diode sender started"
        );
        let mut carousel: Option<(Prepared, u32)> = None;
        let mut heartbeats = 0;
        while !stop::stopping() {
            match outbox.next(Instant::now())? {
                Next::Ready(path) => {
                    let transfer = match prepare(&path, self.sender.key(), &self.params) {
                        Ok(transfer) => transfer,
                        Err(
                            err @ (PrepareError::NotABundle { .. }
                            | PrepareError::NotAFile { .. }
                            | PrepareError::Header { .. }),
                        ) => {
                            tracing::error!(event = "diode.refused", file = %Shown(path.display()), reason = %Shown(&err), "not sent: left in the outbox until it changes");
                            outbox.skip(&path);
                            continue;
                        }
                        Err(err) => {
                            tracing::warn!(event = "diode.retry", file = %Shown(path.display()), reason = %Shown(&err), "cannot read the bundle; trying again");
                            stop::sleep(RETRY_AFTER);
                            continue;
                        }
                    };
                    let report = match self.sender.send(&transfer) {
                        Ok(report) => report,
                        Err(err) => {
                            tracing::error!(event = "diode.retry", file = %Shown(path.display()), reason = %Shown(&err), "sending stopped; the bundle is sent again from the start");
                            stop::sleep(RETRY_AFTER);
                            continue;
                        }
                    };
                    self.sent(&transfer, &report);
                    let moved = outbox.mark_sent(&path)?;
                    tracing::debug!(file = %Shown(moved.display()), "moved to sent/");
                    self.write_metrics();
                    carousel = self
                        .args
                        .carousel
                        .then_some((transfer, self.params.rounds + 1));
                }
                Next::Settling(_) | Next::Empty if carousel.is_some() => {
                    if let Some((transfer, round)) = &mut carousel {
                        match self.sender.send_round(transfer, *round) {
                            Ok(report) => {
                                tracing::debug!(event = "diode.carousel", transfer = %report.transfer, round = *round, datagrams = report.datagrams, "carousel round sent")
                            }
                            Err(err) => {
                                tracing::error!(event = "diode.retry", reason = %Shown(&err), "carousel round stopped");
                                stop::sleep(RETRY_AFTER);
                            }
                        }
                        *round = round.saturating_add(1);
                    }
                    self.heartbeat_metrics(&mut heartbeats);
                }
                Next::Settling(wait) => self.idle(wait, &mut heartbeats)?,
                Next::Empty => self.idle(SCAN_EVERY, &mut heartbeats)?,
            }
        }
        tracing::info!(
            event = "diode.send-stopped",
            bundles = self.metrics.bundles,
            "diode sender stopped"
        );
        self.write_metrics();
        Ok(())
    }

    /// Waits (heartbeating) until `wait` passes or a stop is asked.
    fn idle(&mut self, wait: Duration, heartbeats: &mut u64) -> anyhow::Result<()> {
        self.sender.idle();
        let next = match self.sender.tick() {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(event = "diode.heartbeat-failed", reason = %Shown(&err), "cannot send a heartbeat");
                RETRY_AFTER
            }
        };
        self.heartbeat_metrics(heartbeats);
        stop::sleep(
            wait.min(next)
                .min(SCAN_EVERY)
                .max(Duration::from_millis(10)),
        );
        Ok(())
    }

    fn heartbeat_metrics(&mut self, heartbeats: &mut u64) {
        let now = self.sender.heartbeats();
        if now != *heartbeats {
            *heartbeats = now;
            self.write_metrics();
        }
    }

    /// Logs a sent bundle and keeps its report.
    fn sent(&mut self, transfer: &Prepared, report: &SendReport) {
        self.metrics.bundles += 1;
        self.metrics.last_send_unix = Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        tracing::info!(
            event = "diode.sent",
            transfer = %report.transfer,
            name = %report.name,
            file = %Shown(transfer.path.display()),
            size = report.size,
            datagrams = report.datagrams,
            bytes = report.bytes,
            source_symbols = report.source_symbols,
            repair_symbols = report.repair_symbols,
            rounds = report.rounds,
            duration_ms = report.duration_ms,
            rate_bps = report.rate_bps,
            goodput_bps = report.goodput_bps,
            "bundle sent"
        );
        if let Some(state) = &self.args.state {
            let written = serde_json::to_vec_pretty(report)
                .map_err(std::io::Error::other)
                .and_then(|bytes| {
                    carriers::publish::write_atomically(state, "last-sent.json", &bytes)
                        .map(|_| ())
                        .map_err(std::io::Error::other)
                });
            if let Err(err) = written {
                tracing::error!(reason = %Shown(&err), "cannot write last-sent.json in the state folder");
            }
        }
    }

    fn write_metrics(&self) {
        let Some(path) = &self.args.metrics else {
            return;
        };
        let (datagrams, bytes, heartbeats) = (
            self.sender.datagrams(),
            self.sender.bytes(),
            self.sender.heartbeats(),
        );
        let mut metrics = vec![
            Metric::single(
                "zonebridge_diode_sent_bundles_total",
                "Bundles sent over the diode since the sender started.",
                MetricKind::Counter,
                self.metrics.bundles as f64,
            ),
            Metric::single(
                "zonebridge_diode_sent_datagrams_total",
                "Datagrams sent since the sender started (headers and heartbeats included).",
                MetricKind::Counter,
                datagrams as f64,
            ),
            Metric::single(
                "zonebridge_diode_sent_bytes_total",
                "Bytes of datagrams (UDP payload) sent since the sender started.",
                MetricKind::Counter,
                bytes as f64,
            ),
            Metric::single(
                "zonebridge_diode_heartbeats_total",
                "Heartbeats sent since the sender started.",
                MetricKind::Counter,
                heartbeats as f64,
            ),
        ];
        if let Some(last) = self.metrics.last_send_unix {
            metrics.push(Metric::single(
                "zonebridge_diode_last_send_timestamp_seconds",
                "When the last bundle was sent (Unix time).",
                MetricKind::Gauge,
                last as f64,
            ));
        }
        if let Err(err) = carriers::metrics::write(path, &metrics) {
            tracing::error!(reason = %Shown(&err), file = %Shown(path.display()), "cannot write the metrics file");
        }
    }
}

/// A file that cannot be sent: not a bundle is a refusal (exit 1), a missing or unreadable
/// one an I/O failure (exit 4).
fn prepare_error(err: PrepareError) -> anyhow::Error {
    match err {
        PrepareError::Read { .. } => anyhow::Error::new(err),
        other => Refused {
            code: "not-a-bundle",
            message: other.to_string(),
        }
        .into(),
    }
}

fn make_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
        .with_context(|| format!("cannot make the state folder {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_k_m_and_g() {
        assert_eq!(parse_rate("95M"), Ok(95_000_000));
        assert_eq!(parse_rate("500k"), Ok(500_000));
        assert_eq!(parse_rate("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_rate("64000"), Ok(64_000));
        for bad in [
            "", "0", "0M", "M", "-5M", "95 M", "95Mbit", "1e6", "95m", ".5M", "5.M", "2000G", "x",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn overheads_are_percentages_up_to_500() {
        assert_eq!(parse_overhead("5%"), Ok(50));
        assert_eq!(parse_overhead("2.5%"), Ok(25));
        assert_eq!(parse_overhead("0%"), Ok(0));
        assert_eq!(parse_overhead("500%"), Ok(5000));
        for bad in [
            "5", "0.05", "500.1%", "501%", "-1%", "%", "5.%", "1.25%", "x%", "99999%",
        ] {
            assert!(parse_overhead(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_name_a_receiver() {
        assert!(parse_to("10.77.2.2:7000").is_ok());
        assert!(parse_to("[fd00::2]:7000").is_ok_and(|a| a.is_ipv6()));
        for bad in [
            "10.77.2.2",
            "10.77.2.2:0",
            "0.0.0.0:7000",
            "[::]:7000",
            "host:7000",
            ":7000",
            "10.77.2.2:70000",
        ] {
            assert!(parse_to(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn intervals_take_milliseconds() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_interval("ms").is_err());
        assert!(parse_interval("fast").is_err());
    }
}
