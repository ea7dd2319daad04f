//! `zb-relay`: a seeded lossy UDP relay for the diode tests. See `HELP`.
#![forbid(unsafe_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use test_support::relay::impair::{Counts, Impairer, Settings};

const HELP: &str = "\
zb-relay: a seeded, lossy, one-way UDP relay for testing the diode carrier.

USAGE:
  zb-relay --listen ADDR:PORT --forward ADDR:PORT [--map LISTEN=FORWARD ...] --seed N
           [--loss P] [--burst MEANLEN] [--reorder P] [--duplicate P]
           [--corrupt P] [--corrupt-fix-crc] [--truncate P] [--stats FILE]

Every datagram received on a listening address is impaired, then sent to its forward address.
Nothing is ever read from the forward side: the relay carries one way only, like a diode.
Probabilities P are fractions (0.01 is 1%). Each choice is drawn from a SplitMix64 generator
seeded with --seed (each mapping from its own stream of it), so a run is reproducible given the
same input order. Impairments, applied in this order:

  --loss P            drop a datagram (uniformly, or in bursts with --burst)
  --burst MEANLEN     Gilbert-Elliott bursts: drops come in runs of mean MEANLEN datagrams,
                      with --loss still the long-run share dropped
  --truncate P        cut a datagram at a random length (1 byte kept at least)
  --corrupt P         flip 1 to 3 random bits
  --corrupt-fix-crc   after flipping, rewrite the last 4 bytes as the big-endian CRC-32 of
                      the rest, so the diode's datagram CRC passes and only block hashes catch it
  --duplicate P       send a datagram twice
  --reorder P         hold a datagram back and send it after the next 1 to 3 arrivals
                      (held datagrams also leave after 50 ms of silence)

  --listen, --forward one mapping; --map LISTEN=FORWARD adds more (e.g. several receivers)
  --stats FILE        JSON counts (received, forwarded, dropped, reordered, duplicated,
                      corrupted, truncated, send_errors), rewritten atomically every second
                      and on SIGTERM or SIGINT, after which the relay exits 0
  -h, --help          this text

Prints `zb-relay ready` on stdout once every socket is bound.
";

/// One listening address and where its datagrams go.
struct Mapping {
    listen: SocketAddr,
    forward: SocketAddr,
}

struct Args {
    mappings: Vec<Mapping>,
    seed: u64,
    settings: Settings,
    stats: Option<PathBuf>,
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} {text:?} is not valid (see --help)"))
}

fn parse_args(raw: &[String]) -> Result<Option<Args>, String> {
    let mut listen = None;
    let mut forward = None;
    let mut mappings = Vec::new();
    let mut seed = None;
    let mut settings = Settings::default();
    let mut stats = None;
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let flag = flag.as_str();
        match flag {
            "-h" | "--help" => return Ok(None),
            "--listen" => listen = Some(parse(value(&mut it, flag)?, flag)?),
            "--forward" => forward = Some(parse(value(&mut it, flag)?, flag)?),
            "--map" => {
                let text = value(&mut it, flag)?;
                let (l, f) = text
                    .split_once('=')
                    .ok_or_else(|| format!("--map {text:?} is not LISTEN=FORWARD"))?;
                mappings.push(Mapping {
                    listen: parse(l, flag)?,
                    forward: parse(f, flag)?,
                });
            }
            "--seed" => seed = Some(parse(value(&mut it, flag)?, flag)?),
            "--loss" => settings.loss = parse(value(&mut it, flag)?, flag)?,
            "--burst" => settings.burst = Some(parse(value(&mut it, flag)?, flag)?),
            "--reorder" => settings.reorder = parse(value(&mut it, flag)?, flag)?,
            "--duplicate" => settings.duplicate = parse(value(&mut it, flag)?, flag)?,
            "--corrupt" => settings.corrupt = parse(value(&mut it, flag)?, flag)?,
            "--corrupt-fix-crc" => settings.corrupt_fix_crc = true,
            "--truncate" => settings.truncate = parse(value(&mut it, flag)?, flag)?,
            "--stats" => stats = Some(PathBuf::from(value(&mut it, flag)?)),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    match (listen, forward) {
        (Some(listen), Some(forward)) => mappings.insert(0, Mapping { listen, forward }),
        (None, None) => {}
        _ => return Err("--listen and --forward go together".to_owned()),
    }
    if mappings.is_empty() {
        return Err("nothing to relay: give --listen and --forward, or --map".to_owned());
    }
    let seed = seed.ok_or("--seed is required, so that a run can be reproduced")?;
    settings.validate()?;
    Ok(Some(Args {
        mappings,
        seed,
        settings,
        stats,
    }))
}

/// Receives, impairs and forwards on one mapping until `stop`.
fn relay(
    socket: &UdpSocket,
    forward: SocketAddr,
    mut impairer: Impairer,
    counts: &Mutex<Counts>,
    stop: &AtomicBool,
) {
    let Ok(out_socket) = UdpSocket::bind(if forward.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }) else {
        eprintln!("zb-relay: cannot open a sending socket toward {forward}");
        return;
    };
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match socket.recv(&mut buf) {
            Ok(len) => impairer.push(buf[..len].to_vec(), &mut out),
            // Timed out: the link is quiet, so send what reordering held back.
            Err(_) => impairer.flush(&mut out),
        }
        for datagram in out.drain(..) {
            if out_socket.send_to(&datagram, forward).is_err() {
                impairer.counts.send_errors += 1;
            }
        }
        if let Ok(mut shared) = counts.lock() {
            *shared = impairer.counts;
        }
    }
    impairer.flush(&mut out);
    for datagram in out.drain(..) {
        if out_socket.send_to(&datagram, forward).is_err() {
            impairer.counts.send_errors += 1;
        }
    }
    if let Ok(mut shared) = counts.lock() {
        *shared = impairer.counts;
    }
}

fn write_stats(path: &Path, counts: &[Arc<Mutex<Counts>>]) {
    let mut total = Counts::default();
    for c in counts {
        if let Ok(c) = c.lock() {
            total.add(&c);
        }
    }
    // Atomic: a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, total.to_json()).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&raw) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zb-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("zb-relay: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut sockets = Vec::new();
    for m in &args.mappings {
        match bind(m.listen) {
            Ok(s) => sockets.push((s, m.forward)),
            Err(e) => {
                eprintln!("zb-relay: cannot listen on {}: {e}", m.listen);
                return ExitCode::FAILURE;
            }
        }
    }
    println!("zb-relay ready");
    let mut counts = Vec::new();
    let mut threads = Vec::new();
    for (index, (socket, forward)) in sockets.into_iter().enumerate() {
        let shared = Arc::new(Mutex::new(Counts::default()));
        counts.push(Arc::clone(&shared));
        // Each mapping its own stream, all derived from the one seed.
        let seed = args
            .seed
            .wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let impairer = Impairer::new(args.settings.clone(), seed);
        let stop = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            relay(&socket, forward, impairer, &shared, &stop);
        }));
    }
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            if let Some(path) = &args.stats {
                write_stats(path, &counts);
            }
        }
    }
    for t in threads {
        let _ = t.join();
    }
    if let Some(path) = &args.stats {
        write_stats(path, &counts);
    }
    ExitCode::SUCCESS
}

/// A listening socket with a large receive buffer (bursts from a paced sender must not be lost
/// here, only where the settings say), and a short timeout so `stop` is seen.
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = UdpSocket::bind(addr)?;
    // Force past net.core.rmem_max when allowed (the tests run as root), else ask politely.
    if rustix::net::sockopt::set_socket_recv_buffer_size_force(&socket, 8 << 20).is_err() {
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 8 << 20);
    }
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok(socket)
}
