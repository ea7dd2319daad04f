//! An emulated diode link for the tests: three network namespaces joined by veth pairs, with
//! `zb-relay` in the middle and a `tbf` qdisc shaping the rate toward the receiver.
//!
//! ```text
//!  sender ns                relay ns                              receiver ns
//!  10.77.1.1 [zbl..s] --- [zbl..a] 10.77.1.2                        10.77.2.2 [zbl..r]
//!                          zb-relay :PORT -> 10.77.2.2:PORT         ARP off, IPv6 off,
//!                                   10.77.2.1 [zbl..b] tbf -------- no ICMP errors
//! ```
//!
//! The sender sends to the relay (`10.77.1.2:PORT`); the relay impairs and forwards to the
//! receiver (`10.77.2.2:PORT`); IP forwarding stays off in the relay namespace, so nothing
//! reaches the receiver but what the relay sends. The relay knows the receiver's MAC address
//! (a permanent neighbour entry), so the receiver never needs to answer ARP; its veth has ARP
//! off, IPv6 disabled before it comes up (no router solicitations, no MLD), and its
//! rate-limited ICMP errors set to a budget of 0, so that a datagram reaching a closed port
//! (the receiver killed and not yet restarted) is not answered by the kernel. What remains
//! is the receiver process itself: its veth's `tx_packets` ([`Link::tx_packets`]) counts
//! every packet it would send, and the tests assert it stays 0.
//!
//! Names carry the test process's pid and a counter, so tests run in parallel; everything
//! (processes first, then namespaces and with them the veths) is removed when the [`Link`] is
//! dropped, during a panic's unwinding too. Namespaces left by a killed test process (whose pid
//! is gone) are swept by the next [`Link::new`]. Not root, or no `ip netns`: [`Link::new`]
//! returns an error saying so, and the tests fail (CI runs as root); they never skip.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The sender's address.
pub const SENDER_IP: &str = "10.77.1.1";
/// The relay's address on the sender's side: where the sender sends.
pub const RELAY_IP: &str = "10.77.1.2";
/// The relay's address on the receiver's side.
pub const RELAY_OUT_IP: &str = "10.77.2.1";
/// The receiver's address.
pub const RECEIVER_IP: &str = "10.77.2.2";

/// The prefix of every namespace the harness creates.
const PREFIX: &str = "zbl";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One of the three namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Where `bridge-export send` runs.
    Sender,
    /// Where `zb-relay` runs.
    Relay,
    /// Where `bridge-import receive` runs.
    Receiver,
}

/// A process the link started, killed when the link is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pid(pub u32);

/// The three namespaces, their veths and the processes started in them.
#[derive(Debug)]
pub struct Link {
    token: String,
    children: Vec<Child>,
}

fn run(args: &[&str]) -> Result<String, String> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", args[0]))?;
    if !output.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Removes the namespaces of test processes that died without dropping their links.
fn sweep() {
    let Ok(list) = run(&["ip", "netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            kill_all_in(name);
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

fn kill_all_in(ns: &str) {
    if let Ok(pids) = run(&["ip", "netns", "pids", ns]) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

impl Link {
    /// Creates the namespaces, veths, addresses and the `tbf` qdisc at `rate` (tc syntax,
    /// `100mbit`) on the relay's egress toward the receiver. No relay yet: see
    /// [`Link::start_relay`].
    pub fn new(rate: &str) -> Result<Self, String> {
        if !rustix::process::geteuid().is_root() {
            return Err(
                "the diode link tests need root (network namespaces, veth, tc); CI runs \
                 them as root. Hint: run them as root, or leave out the diode tests"
                    .to_owned(),
            );
        }
        run(&["ip", "netns", "list"]).map_err(|e| {
            format!("the diode link tests need `ip netns` (iproute2): {e}. Hint: install iproute2")
        })?;
        sweep();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // "zbl" + pid (<= 7 digits) + "x" + counter + one letter: at most 15 characters
        // (IFNAMSIZ - 1) for counters below 1000.
        let token = format!("{PREFIX}{}x{}", std::process::id(), n % 1000);
        let link = Self {
            token,
            children: Vec::new(),
        };
        link.build(rate)?;
        Ok(link)
    }

    fn build(&self, rate: &str) -> Result<(), String> {
        let [s, r, v] = [Side::Sender, Side::Relay, Side::Receiver].map(|side| self.ns(side));
        for ns in [&s, &r, &v] {
            run(&["ip", "netns", "add", ns])?;
        }
        let (if_s, if_a, if_b, if_r) = (
            self.veth('s'),
            self.veth('a'),
            self.veth('b'),
            self.veth('r'),
        );
        // Created directly inside the namespaces: the root namespace never sees the names.
        run(&[
            "ip", "link", "add", &if_s, "netns", &s, "type", "veth", "peer", "name", &if_a,
            "netns", &r,
        ])?;
        run(&[
            "ip", "link", "add", &if_b, "netns", &r, "type", "veth", "peer", "name", &if_r,
            "netns", &v,
        ])?;
        // The receiver: IPv6 off before the link is up (no solicitation or MLD report ever
        // leaves), ARP off, and no budget for ICMP errors (port unreachable after a kill).
        run(&[
            "ip",
            "netns",
            "exec",
            &v,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            &format!("net.ipv6.conf.{if_r}.disable_ipv6=1"),
            "net.ipv4.icmp_msgs_per_sec=0",
            "net.ipv4.icmp_msgs_burst=0",
        ])?;
        for (ns, dev) in [(&s, &if_s), (&r, &if_a), (&r, &if_b)] {
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ])?;
        }
        run(&["ip", "-n", &v, "link", "set", &if_r, "arp", "off"])?;
        for (ns, dev, addr) in [
            (&s, &if_s, "10.77.1.1/24"),
            (&r, &if_a, "10.77.1.2/24"),
            (&r, &if_b, "10.77.2.1/24"),
            (&v, &if_r, "10.77.2.2/24"),
        ] {
            run(&["ip", "-n", ns, "addr", "add", addr, "dev", dev])?;
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
        }
        for ns in [&s, &r, &v] {
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        }
        let mac = self.read_sys(Side::Receiver, &format!("/sys/class/net/{if_r}/address"))?;
        run(&[
            "ip",
            "-n",
            &r,
            "neigh",
            "replace",
            RECEIVER_IP,
            "lladdr",
            &mac,
            "dev",
            &if_b,
            "nud",
            "permanent",
        ])?;
        // The sender learns the relay's MAC by ARP as usual (the relay answers); burst covers
        // a 4 ms timer tick at 100 Mbit/s, latency leaves room for the sender's pacing jitter.
        run(&[
            "tc", "-n", &r, "qdisc", "add", "dev", &if_b, "root", "tbf", "rate", rate, "burst",
            "64kb", "latency", "50ms",
        ])?;
        Ok(())
    }

    /// The namespace's name.
    pub fn ns(&self, side: Side) -> String {
        let tag = match side {
            Side::Sender => "snd",
            Side::Relay => "rly",
            Side::Receiver => "rcv",
        };
        format!("{}-{tag}", self.token)
    }

    fn veth(&self, end: char) -> String {
        format!("{}{end}", self.token)
    }

    /// The side's veth toward the receiver (the relay's: the shaped one).
    pub fn interface(&self, side: Side) -> String {
        self.veth(match side {
            Side::Sender => 's',
            Side::Relay => 'b',
            Side::Receiver => 'r',
        })
    }

    /// A command that runs `program` in the side's namespace (`ip netns exec NS program`,
    /// which execs it: the child's pid is the program's).
    pub fn command(&self, side: Side, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec"])
            .arg(self.ns(side))
            .arg(program);
        command
    }

    /// Starts `command` (from [`Link::command`]); the link kills it when dropped.
    pub fn spawn(&mut self, mut command: Command) -> Result<Pid, String> {
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let pid = Pid(child.id());
        self.children.push(child);
        Ok(pid)
    }

    /// Starts `zb-relay` in the relay namespace, listening on `RELAY_IP:port` and forwarding
    /// to `RECEIVER_IP:port`, with `args` (`--seed` and the impairments) and `--stats`, and
    /// waits until its sockets are bound.
    pub fn start_relay(&mut self, port: u16, args: &[&str], stats: &Path) -> Result<Pid, String> {
        let mut command = self.command(Side::Relay, crate::binary("zb-relay")?);
        command
            .arg("--listen")
            .arg(format!("{RELAY_IP}:{port}"))
            .arg("--forward")
            .arg(format!("{RECEIVER_IP}:{port}"))
            .args(args)
            .arg("--stats")
            .arg(stats)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start zb-relay: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let pid = Pid(child.id());
        self.children.push(child);
        if line.trim() != "zb-relay ready" {
            return Err(format!("zb-relay did not start (printed {line:?})"));
        }
        Ok(pid)
    }

    /// Sends `signal` to a process the link started.
    pub fn signal(&self, pid: Pid, signal: rustix::process::Signal) -> Result<(), String> {
        let raw = i32::try_from(pid.0).map_err(|_| format!("pid {} out of range", pid.0))?;
        let target = rustix::process::Pid::from_raw(raw).ok_or_else(|| format!("bad pid {raw}"))?;
        rustix::process::kill_process(target, signal)
            .map_err(|e| format!("cannot signal {raw}: {e}"))
    }

    /// Waits up to `timeout` for a process the link started to end.
    pub fn wait(&mut self, pid: Pid, timeout: Duration) -> Result<ExitStatus, String> {
        let child = self
            .children
            .iter_mut()
            .find(|c| c.id() == pid.0)
            .ok_or_else(|| format!("process {} was not started by this link", pid.0))?;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if start.elapsed() > timeout {
                return Err(format!("process {} still running after {timeout:?}", pid.0));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops a process: SIGTERM, then SIGKILL if it has not ended within `grace`.
    pub fn stop(&mut self, pid: Pid, grace: Duration) -> Result<ExitStatus, String> {
        self.signal(pid, rustix::process::Signal::TERM)?;
        match self.wait(pid, grace) {
            Ok(status) => Ok(status),
            Err(_) => {
                self.signal(pid, rustix::process::Signal::KILL)?;
                self.wait(pid, Duration::from_secs(5))
            }
        }
    }

    fn read_sys(&self, side: Side, path: &str) -> Result<String, String> {
        // `ip netns exec` mounts the namespace's own /sys for the command.
        run(&["ip", "netns", "exec", &self.ns(side), "cat", path]).map(|s| s.trim().to_owned())
    }

    /// Packets the side's veth has sent (`/sys/class/net/IF/statistics/tx_packets`).
    pub fn tx_packets(&self, side: Side) -> Result<u64, String> {
        self.counter(side, "tx_packets")
    }

    /// Packets the side's veth has received.
    pub fn rx_packets(&self, side: Side) -> Result<u64, String> {
        self.counter(side, "rx_packets")
    }

    fn counter(&self, side: Side, name: &str) -> Result<u64, String> {
        let path = format!("/sys/class/net/{}/statistics/{name}", self.interface(side));
        let text = self.read_sys(side, &path)?;
        text.parse()
            .map_err(|_| format!("{path} holds {text:?}, not a count"))
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for side in [Side::Sender, Side::Relay, Side::Receiver] {
            let ns = self.ns(side);
            // Anything the tests started some other way (grandchildren) goes too.
            kill_all_in(&ns);
            let _ = run(&["ip", "netns", "del", &ns]);
        }
    }
}

/// Whether a namespace of this name exists (for the harness's own tests).
pub fn namespace_exists(name: &str) -> bool {
    run(&["ip", "netns", "list"]).is_ok_and(|list| {
        list.lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    })
}
