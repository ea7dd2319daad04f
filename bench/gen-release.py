#!/usr/bin/env python3
"""Generates a synthetic release directory for the pack/verify/unpack benchmark.

    gen-release.py SIZE_GIB OUTDIR [--seed N] [--jobs N] [--checksums FILE]

OUTDIR gets the layout of the bundle spec's "Release directory":

    release.toml        project "Bench", every file under packages/ listed as a package
    process.json        one script step
    packages/           about 300 files per GiB (at least 4), of varied sizes

SIZE_GIB * 2^30 bytes are spread over the package files: half in text files (generated
application logs, transaction CSV and event JSON lines; zstd -3 compresses them about
3 to 5 times) and half in binary files of seeded pseudo-random bytes (incompressible, like
the already compressed archives most packages are). No variables, no secrets.

Deterministic: the same SIZE_GIB and --seed give byte-identical output, whatever --jobs
(every file has its own seed). Streams: no file is ever held in memory whole. Files are
generated in parallel, one process per CPU by default. --checksums writes a sha256sum(1)
list of process.json and the packages, relative to OUTDIR, to check an unpacked copy.

Standard library only (Python 3.9 or later).
"""

import argparse
import hashlib
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

GIB = 1 << 30
FILES_PER_GIB = 300
MIN_FILES = 4
CHUNK = 1 << 20
VERSION = "2026.11.3"

# ------------------------------------------------------------------------------------------
# Text generators. Each returns about CHUNK characters of whole lines and the updated clock.
# Categorical fields come from small vocabularies, ids and amounts are fresh random values:
# that mix gives zstd -3 a ratio in the range of real logs and exports.
# ------------------------------------------------------------------------------------------

LEVELS = ("INFO",) * 14 + ("DEBUG",) * 4 + ("WARN",) * 2 + ("ERROR",)
SERVICES = ("payments-api", "ledger", "settlement", "fraud-check", "acquirer-gateway",
            "notifier", "reporting", "merchant-config")
ROUTES = (("POST", "/v1/payments"), ("GET", "/v1/payments/{id}"), ("POST", "/v1/refunds"),
          ("GET", "/health"), ("GET", "/v1/merchants/{merchant}/balance"),
          ("POST", "/v1/settlements/batches"), ("GET", "/v1/payments?cursor={cursor}"))
MESSAGES = ("request completed", "authorisation accepted",
            "authorisation declined: insufficient funds", "authorisation declined: do not honour",
            "retrying acquirer call after timeout", "cache miss for merchant configuration",
            "idempotent replay served from store", "settlement batch closed",
            "webhook delivered", "webhook delivery failed, will retry", "slow query detected",
            "token vault lookup", "3-D Secure challenge required", "rate limit applied")
CURRENCIES = ("EUR",) * 6 + ("GBP",) * 2 + ("USD",) * 3 + ("CHF", "SEK", "DKK", "PLN")
STATUSES = ("authorised",) * 8 + ("captured",) * 6 + ("declined",) * 2 + ("refunded", "pending")
BRANDS = ("visa",) * 5 + ("mastercard",) * 4 + ("amex", "maestro", "discover")
COUNTRIES = ("DE", "FR", "NL", "GB", "IE", "ES", "IT", "SE", "PL", "CH", "US", "AT", "BE")
MCCS = ("5411", "5812", "5999", "4111", "5732", "7011", "5691", "4814", "5942", "7399")
EVENTS = ("payment.created", "payment.authorised", "payment.captured", "payment.declined",
          "refund.created", "refund.settled", "payout.scheduled", "dispute.opened")
REGIONS = ("eu-central", "eu-west", "eu-north")

CSV_HEADER = ("transaction_id,created_at,merchant_id,amount_minor,currency,status,card_brand,"
              "card_last4,acquirer_reference,country,mcc,risk_score\n")


def _timestamp(ms):
    day, ms = divmod(ms, 86_400_000)
    hour, ms = divmod(ms, 3_600_000)
    minute, ms = divmod(ms, 60_000)
    second, ms = divmod(ms, 1000)
    return f"2026-11-{1 + day % 28:02d}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def log_chunk(rng, clock):
    out = []
    rnd = rng.random
    ids = rng.randbytes(12 * 4200).hex()
    for i in range(4200):
        clock += int(rnd() * 30)
        method, route = ROUTES[int(rnd() * len(ROUTES))]
        status = 200 if rnd() < 0.88 else (422 if rnd() < 0.7 else 502)
        out.append(
            f"{_timestamp(clock)} {LEVELS[int(rnd() * len(LEVELS))]:<5} "
            f"{SERVICES[int(rnd() * len(SERVICES))]} trace={ids[24 * i:24 * i + 24]} "
            f"{method} {route} status={status} duration_ms={int(rnd() * rnd() * 1500)} "
            f"merchant=m_{int(rnd() * 40000):06d} amount={int(rnd() * 250000)} "
            f"msg=\"{MESSAGES[int(rnd() * len(MESSAGES))]}\"\n")
    return "".join(out), clock


def csv_chunk(rng, clock):
    out = []
    rnd = rng.random
    ids = rng.randbytes(12 * 7000).hex()
    for i in range(7000):
        clock += int(rnd() * 200)
        out.append(
            f"tx_{ids[24 * i:24 * i + 24]},{_timestamp(clock)},m_{int(rnd() * 40000):06d},"
            f"{int(rnd() * rnd() * 500000) + 50},{CURRENCIES[int(rnd() * len(CURRENCIES))]},"
            f"{STATUSES[int(rnd() * len(STATUSES))]},{BRANDS[int(rnd() * len(BRANDS))]},"
            f"{int(rnd() * 10000):04d},ACQ{int(rnd() * 1e9):09d},{COUNTRIES[int(rnd() * len(COUNTRIES))]},"
            f"{MCCS[int(rnd() * len(MCCS))]},{rnd() * rnd():.2f}\n")
    return "".join(out), clock


def jsonl_chunk(rng, clock):
    out = []
    rnd = rng.random
    ids = rng.randbytes(16 * 3600).hex()
    for i in range(3600):
        clock += int(rnd() * 80)
        event = EVENTS[int(rnd() * len(EVENTS))]
        out.append(
            f'{{"ts":"{_timestamp(clock)}","type":"{event}","id":"evt_{ids[32 * i:32 * i + 16]}",'
            f'"payment_id":"pay_{ids[32 * i + 16:32 * i + 32]}",'
            f'"merchant_id":"m_{int(rnd() * 40000):06d}",'
            f'"amount":{{"value":{int(rnd() * rnd() * 500000) + 50},'
            f'"currency":"{CURRENCIES[int(rnd() * len(CURRENCIES))]}"}},'
            f'"attempt":{1 + int(rnd() * rnd() * 4)},'
            f'"labels":{{"region":"{REGIONS[int(rnd() * len(REGIONS))]}",'
            f'"service":"{SERVICES[int(rnd() * len(SERVICES))]}",'
            f'"pod":"{SERVICES[int(rnd() * len(SERVICES))]}-{int(rnd() * 4096):03x}"}}}}\n')
    return "".join(out), clock


TEXT_KINDS = (
    # (package id stem, extension, header, chunk generator)
    ("AppLog", "log", "", log_chunk),
    ("Transactions", "csv", CSV_HEADER, csv_chunk),
    ("Events", "jsonl", "", jsonl_chunk),
)

# ------------------------------------------------------------------------------------------


def write_file(job):
    """Writes one package file; returns (relative path, sha256 hex). Runs in a worker."""
    path, kind, size, seed = job
    rng = random.Random(seed)
    digest = hashlib.sha256()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        remaining = size

        def emit(data):
            nonlocal remaining
            data = data[:remaining]
            out.write(data)
            digest.update(data)
            remaining -= len(data)

        if kind == "binary":
            while remaining:
                emit(rng.randbytes(min(4 * CHUNK, remaining)))
        else:
            _, _, header, chunk = TEXT_KINDS[kind]
            emit(header.encode("ascii"))
            clock = int(rng.random() * 86_400_000)
            while remaining:
                text, clock = chunk(rng, clock)
                data = text.encode("ascii")
                if len(data) >= remaining and remaining:
                    # End the file on a line break, as a real log or export would.
                    data = data[:remaining - 1] + b"\n"
                emit(data)
    os.replace(tmp, path)
    return path, digest.hexdigest()


def plan(total, seed):
    """Files as (package id, file name, kind, size, seed); sizes add up to `total`."""
    count = max(MIN_FILES, round(FILES_PER_GIB * total / GIB))
    count += count % 2
    rng = random.Random(seed)
    halves = {"text": total // 2, "binary": total - total // 2}
    files = []
    for half, half_total in halves.items():
        n = count // 2
        # Log-normal sizes: many small files, a few large ones, like real packages.
        weights = [rng.lognormvariate(0.0, 1.0) for _ in range(n)]
        scale = half_total / sum(weights)
        sizes = [int(w * scale) for w in weights]
        sizes[-1] += half_total - sum(sizes)
        for i, size in enumerate(sizes, start=1):
            if half == "text":
                kind = (i - 1) % len(TEXT_KINDS)
                stem, ext = TEXT_KINDS[kind][0], TEXT_KINDS[kind][1]
            else:
                kind, stem, ext = "binary", "Blob", "bin"
            package_id = f"Bench.{stem}{i:04d}"
            name = f"{package_id}.{VERSION}.{ext}"
            file_seed = int.from_bytes(
                hashlib.sha256(f"{seed}/{name}".encode()).digest()[:8], "little")
            files.append((package_id, name, kind, size, file_seed))
    # Interleave text and binary files in the release, ordered by file name.
    files.sort(key=lambda f: f[1])
    return files


def release_toml(files):
    lines = [
        "# Synthetic release for bench/run.sh, written by bench/gen-release.py.",
        'project = "Bench"',
        f'version = "{VERSION}"',
        'channel = "Default"',
        'process = "process.json"',
        "variables = []",
        "secrets = []",
        "",
    ]
    for package_id, name, _, _, _ in files:
        lines += ["[[packages]]", f'id = "{package_id}"', f'version = "{VERSION}"',
                  f'file = "packages/{name}"', ""]
    return "\n".join(lines)


PROCESS = {
    "Project": "Bench",
    "Steps": [{
        "Name": "Unpack",
        "PackageRequirement": "LetOctopusDecide",
        "Properties": {},
        "Condition": "Success",
        "StartTrigger": "StartAfterPrevious",
        "Actions": [{
            "Name": "Unpack",
            "ActionType": "Octopus.Script",
            "IsDisabled": False,
            "CanBeUsedForProjectVersioning": False,
            "IsRequired": False,
            "WorkerPool": "Default Worker Pool",
            "Environments": [],
            "ExcludedEnvironments": [],
            "Channels": [],
            "TenantTags": [],
            "Packages": [],
            "Properties": {
                "Octopus.Action.RunOnServer": "true",
                "Octopus.Action.Script.ScriptSource": "Inline",
                "Octopus.Action.Script.Syntax": "Bash",
                "Octopus.Action.Script.ScriptBody": "echo 'benchmark release: nothing to deploy'",
            },
        }],
    }],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size_gib", type=float, help="total size of the packages, in GiB (2^30 bytes)")
    parser.add_argument("outdir", type=Path, help="release directory to create (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=20261103, help="seed (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="files generated in parallel (default: number of CPUs)")
    parser.add_argument("--checksums", type=Path,
                        help="write a sha256sum list of process.json and packages/ here")
    args = parser.parse_args()

    total = int(args.size_gib * GIB)
    if total < 64 * 1024:
        parser.error("SIZE_GIB is too small (at least 64 KiB in all)")
    if args.outdir.exists() and any(args.outdir.iterdir()):
        parser.error(f"{args.outdir} exists and is not empty")
    packages = args.outdir / "packages"
    packages.mkdir(parents=True, exist_ok=True)

    files = plan(total, args.seed)
    process_bytes = (json.dumps(PROCESS, indent=2) + "\n").encode("utf-8")
    (args.outdir / "process.json").write_bytes(process_bytes)
    (args.outdir / "release.toml").write_text(release_toml(files), encoding="utf-8")

    jobs = [(packages / name, kind, size, seed) for _, name, kind, size, seed in files]
    # Largest first, so that one big file does not finish alone at the end.
    jobs.sort(key=lambda job: -job[2])
    digests = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, digest in pool.map(write_file, jobs, chunksize=1):
            digests[path.name] = digest

    if args.checksums:
        lines = [f"{hashlib.sha256(process_bytes).hexdigest()}  process.json\n"]
        lines += [f"{digests[name]}  packages/{name}\n" for _, name, _, _, _ in files]
        args.checksums.write_text("".join(lines), encoding="utf-8")

    text = sum(f[3] for f in files if f[2] != "binary")
    print(f"{args.outdir}: {len(files)} packages, {total} bytes "
          f"({text} text, {total - text} binary)", file=sys.stderr)


if __name__ == "__main__":
    main()
