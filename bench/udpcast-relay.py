#!/usr/bin/env python3
"""The lossy one-way relay of bench/diode.sh for udpcast, which zb-relay cannot carry.

    udpcast-relay.py --listen ADDR:PORT --forward ADDR:PORT --source ADDR:PORT --seed N
                     [--loss P] [--burst MEANLEN] [--stats FILE]

udp-receiver drops every datagram whose source port is not its portbase or portbase+1
(socklib.c, doReceive), and zb-relay sends from an ephemeral port; this relay sends from
--source instead. Otherwise the same loss model as zb-relay (test-support/src/relay/impair.rs):
each datagram dropped with probability P, or, with --burst, Gilbert-Elliott runs of drops of
mean length MEANLEN with P still the long-run share. Seeded, one way only (nothing is ever read
from the forward side). Writes {"received", "forwarded", "dropped"} as JSON to --stats on
SIGTERM or SIGINT, then exits 0. Standard library only.
"""

import argparse
import json
import random
import signal
import socket
import sys


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True)
    parser.add_argument("--forward", type=address, required=True)
    parser.add_argument("--source", type=address, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--burst", type=float)
    parser.add_argument("--stats")
    args = parser.parse_args()
    if not 0.0 <= args.loss < 1.0:
        parser.error(f"--loss {args.loss} is not a fraction below 1 (1% is 0.01)")
    if args.burst is not None and args.burst < 1.0:
        parser.error(f"--burst {args.burst} is not a mean burst length of at least 1")

    rng = random.Random(args.seed)
    # Gilbert-Elliott with a lossless good state and an all-loss bad state.
    leave = 1.0 / args.burst if args.burst else None
    enter = args.loss * leave / (1.0 - args.loss) if leave else None
    bad = False

    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Bursts from a paced sender must not be lost here rather than by the loss model.
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    listen.bind(args.listen)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(args.source)
    counts = {"received": 0, "forwarded": 0, "dropped": 0}

    def stop(_signum, _frame):
        if args.stats:
            with open(args.stats, "w", encoding="utf-8") as f:
                json.dump(counts, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("udpcast-relay ready", flush=True)
    while True:
        datagram = listen.recv(65536)
        counts["received"] += 1
        if leave is None:
            lost = rng.random() < args.loss
        else:
            bad = rng.random() >= leave if bad else rng.random() < enter
            lost = bad
        if lost:
            counts["dropped"] += 1
            continue
        out.sendto(datagram, args.forward)
        counts["forwarded"] += 1


if __name__ == "__main__":
    main()
