#!/usr/bin/env python3
"""Times one transfer of bench/diode.sh, from inside the receiver's namespace.

    diode-watch.py IFACE FILE SIZE TIMEOUT_S

Prints "FIRST DONE" (CLOCK_MONOTONIC seconds): FIRST when IFACE has received its first 16
packets (a few hellos or headers; 16 datagrams are 0.2 ms at 100 Mbit/s), DONE when FILE exists
with SIZE bytes (Zonebridge renames the whole file into the inbox; udp-receiver writes in order,
so its file reaches SIZE with the last slice). Polls every 2 ms; exits 1 after TIMEOUT_S.
"""

import os
import sys
import time


def main():
    iface, path, size, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    counter = f"/sys/class/net/{iface}/statistics/rx_packets"
    with open(counter, encoding="ascii") as f:
        base = int(f.read())
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if first is None:
            with open(counter, encoding="ascii") as f:
                if int(f.read()) - base >= 16:
                    first = now
        try:
            if os.stat(path).st_size >= size:
                print(f"{first if first is not None else now:.4f} {now:.4f}")
                return 0
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    print(f"diode-watch: {path} did not reach {size} bytes in {timeout} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
