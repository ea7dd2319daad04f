//! `zb-udp`: the small UDP ends the diode harness runs inside its namespaces. See `HELP`.
#![forbid(unsafe_code)]

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use test_support::relay::rng::SplitMix64;

const HELP: &str = "\
zb-udp: UDP test ends for the diode harness.

USAGE:
  zb-udp listen ADDR:PORT MILLIS
      receive for MILLIS ms (never sending anything) and print `DATAGRAMS BYTES`
  zb-udp send ADDR:PORT COUNT PPS (--file FILE | --random LEN --seed N)
      send COUNT datagrams at about PPS per second: the records of FILE in turn (each a
      4-byte big-endian length then the bytes), or seeded random bytes of LEN
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("listen") => listen(&args[1..]),
        Some("send") => send(&args[1..]),
        _ => {
            print!("{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zb-udp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T, String> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("missing or bad {what} (see zb-udp --help)"))
}

fn listen(args: &[String]) -> Result<(), String> {
    let addr: SocketAddr = arg(args, 0, "ADDR:PORT")?;
    let millis: u64 = arg(args, 1, "MILLIS")?;
    let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot bind {addr}: {e}"))?;
    println!("listening");
    let end = Instant::now() + Duration::from_millis(millis);
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; 65_536];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if left.is_zero() {
            break;
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        if let Ok(len) = socket.recv(&mut buf) {
            count += 1;
            bytes += len as u64;
        }
    }
    println!("{count} {bytes}");
    Ok(())
}

fn send(args: &[String]) -> Result<(), String> {
    let to: SocketAddr = arg(args, 0, "ADDR:PORT")?;
    let count: u64 = arg(args, 1, "COUNT")?;
    let pps: u64 = arg(args, 2, "PPS")?;
    let records = match args.get(3).map(String::as_str) {
        Some("--file") => {
            let path = args.get(4).ok_or("--file needs a path")?;
            let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            split_records(&data)?
        }
        Some("--random") => {
            let len: usize = arg(args, 4, "LEN")?;
            let seed: u64 = match args.get(5).map(String::as_str) {
                Some("--seed") => arg(args, 6, "seed")?,
                _ => return Err("--random needs --seed N".to_owned()),
            };
            let mut rng = SplitMix64::new(seed);
            // 64 distinct random datagrams, sent in turn.
            (0..64)
                .map(|_| (0..len).map(|_| rng.next_u64() as u8).collect())
                .collect()
        }
        _ => return Err("give --file FILE or --random LEN --seed N".to_owned()),
    };
    if records.is_empty() || pps == 0 {
        return Err("nothing to send (no records, or PPS 0)".to_owned());
    }
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    let start = Instant::now();
    for i in 0..count {
        let record: &Vec<u8> = &records[(i % records.len() as u64) as usize];
        // Paced by the clock, in steps, so no busy loop.
        let due = Duration::from_micros(i * 1_000_000 / pps);
        if let Some(wait) = due.checked_sub(start.elapsed())
            && wait > Duration::from_millis(1)
        {
            std::thread::sleep(wait);
        }
        let _ = socket.send_to(record, to);
    }
    Ok(())
}

fn split_records(mut data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut records = Vec::new();
    while !data.is_empty() {
        let (len, rest) = data
            .split_at_checked(4)
            .ok_or("a record's length is cut short")?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (record, rest) = rest
            .split_at_checked(len)
            .ok_or("a record is shorter than its length")?;
        records.push(record.to_vec());
        data = rest;
    }
    Ok(records)
}
