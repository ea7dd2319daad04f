#!/usr/bin/env python3
"""Run the second verifier over every test vector, and compare it with `bridge-import verify`.

    run-vectors.py [BRIDGE_IMPORT | --bridge-import PATH] [--bridge-export PATH] [--vectors DIR]
                   [--no-pack] [--no-craft] [--random N] [-k SUBSTRING]

1. Every `tests/vectors/*.toml`: zbverify.py with the sidecar's policy and `now` must reach
   the sidecar's verdict, code, digest, and stay within `max_bytes_read` (section 11).
2. If a `bridge-import` binary is given (or found on PATH): the same files through
   `bridge-import verify FILE --policy P --json [--now T]`; the two verifiers must agree on
   the verdict and the code (and the digest when accepted). Without a `--now` flag on the
   binary both run on the system clock for the comparison.
3. With `bridge-export` too (given, next to bridge-import, or on PATH): bundles made by
   `bridge-export pack` (and `sign`) must be accepted by both with the digest pack printed,
   and mutations of them (a flipped byte in each frame, truncations, appended bytes, and
   `--random N` seeded random ones) must get the same verdict from both.
4. Crafted bundles (craft.py, test keys of tests/vectors/keys): cases where the spec leaves
   or left room for two readings; zbverify must give the verdict SPEC-QUESTIONS.md chose, and
   the binary must agree. Plus `--random N` re-signed manifests with random damage, where
   only agreement is checked.

Prints one line per file and `N passed, N failed`; exits 1 on any failure or disagreement.
Installs nothing: PyNaCl, zstandard and cbor2 must already be importable.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZBVERIFY = os.path.join(HERE, "zbverify.py")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # leave the tree clean (CI checks git status)

SIDECAR_KEYS = {"expect", "error", "policy", "now", "description", "digest", "max_bytes_read"}


class Runner:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.agree = 0
        self.disagree = []  # (file, ours, binary)
        self.bi = args.bridge_import
        self.bi_now = False
        if self.bi:
            h = subprocess.run([self.bi, "verify", "--help"], capture_output=True, text=True)
            self.bi_now = "--now" in h.stdout

    def line(self, ok, name, detail):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)

    # ------------------------------------------------------------ the two verifiers

    def ours(self, bundle, policy, now):
        cmd = [sys.executable, ZBVERIFY, bundle, "--policy", policy, "--json"]
        if now is not None:
            cmd += ["--now", now]
        # Run in a new empty folder and check it stays empty: a verifier that only verifies
        # writes no files at all (8.10; section 11 checks the output folder the same way).
        with tempfile.TemporaryDirectory(prefix="zbverify-cwd-") as cwd:
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
            left = os.listdir(cwd)
        if left:
            return ("crash", "zbverify wrote %s" % left), {}
        try:
            d = json.loads(p.stdout)
        except ValueError:
            return ("crash", "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])), {}
        if d["verdict"] == "accepted":
            return ("accepted", d["digest"]), d
        if d["verdict"] == "refused":
            return ("refused", d["code"]), d
        return ("error", d.get("error")), d

    def theirs(self, bundle, policy, now):
        cmd = [self.bi, "verify", bundle, "--policy", policy, "--json"]
        if now is not None and self.bi_now:
            cmd += ["--now", now]
        p = subprocess.run(cmd, capture_output=True, text=True)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            return ("crash", "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
        if d.get("ok"):
            return ("accepted", d["bundle"]["digest"])
        code = d.get("error", {}).get("code")
        return ("refused", code)

    def compare(self, name, bundle, policy, now):
        """Both verifiers on one file; returns (ok, detail)."""
        if not self.bi:
            return True, ""
        clock = now if self.bi_now else None
        ours, _ = self.ours(bundle, policy, clock)
        theirs = self.theirs(bundle, policy, clock)
        if ours == theirs:
            self.agree += 1
            return True, "both %s" % _show(ours)
        self.disagree.append((name, theirs, ours))
        return False, "DISAGREE bridge-import %s, zbverify %s" % (_show(theirs), _show(ours))

    # ------------------------------------------------------------------- 1+2 vectors

    def vectors(self):
        vdir = self.args.vectors
        for fn in sorted(os.listdir(vdir)):
            if not fn.endswith(".toml") or (self.args.k and self.args.k not in fn):
                continue
            name = fn[:-5]
            with open(os.path.join(vdir, fn), "rb") as f:
                sc = tomllib.load(f)
            unknown = set(sc) - SIDECAR_KEYS
            if unknown:
                # tests/vectors/README.md: "Readers of sidecars should refuse unknown keys".
                self.line(False, "vector " + name, "sidecar has unknown keys %s" % sorted(unknown))
                continue
            bundle = os.path.join(vdir, name + ".zb")
            policy = os.path.join(vdir, sc["policy"])
            now = sc["now"].isoformat() if hasattr(sc["now"], "isoformat") else str(sc["now"])
            got, d = self.ours(bundle, policy, now)
            if sc["expect"] == "accept":
                want = ("accepted", sc["digest"])
            else:
                want = ("refused", sc["error"])
            problems = []
            if got != want:
                problems.append("sidecar %s, zbverify %s" % (_show(want), _show(got)))
            mbr = sc.get("max_bytes_read")
            if mbr is not None and d.get("bytes_read", 1 << 62) > mbr:
                problems.append("read %s bytes, max_bytes_read %d" % (d.get("bytes_read"), mbr))
            ok, detail = self.compare("vector " + name, bundle, policy, now)
            if not ok:
                problems.append(detail)
            if problems:
                self.line(False, "vector " + name, "; ".join(problems))
            else:
                extra = " (read %d of max %d bytes)" % (d["bytes_read"], mbr) if mbr is not None else ""
                self.line(True, "vector " + name, "sidecar %s%s%s" % (_show(want), extra, (", " + detail) if detail else ""))

    # ------------------------------------------------------------- 3 pack + mutations

    def pack(self, tmp):
        be = self.args.bridge_export
        if not (be and self.bi):
            print("SKIP pack: needs bridge-export and bridge-import", flush=True)
            return
        run = lambda *a: subprocess.run(list(a), capture_output=True, text=True, cwd=tmp)  # noqa: E731
        for k in ("signer-a", "signer-b"):
            r = run(be, "keygen", "--out", k, "--json")
            if r.returncode:
                self.line(False, "pack keygen", r.stdout + r.stderr)
                return
        run(self.bi, "policy", "init", "--zone", "pci", "--out", "policy.toml")
        run(self.bi, "policy", "trust", "policy.toml", "signer-a.pub", "--role", "release", "--zone", "dev")
        run(self.bi, "policy", "trust", "policy.toml", "signer-b.pub", "--role", "release", "--zone", "dev")
        policy = os.path.join(tmp, "policy.toml")
        big = _big_release(tmp)
        cases = [
            ("example", os.path.join(REPO, "examples", "release"), ["--key", "signer-a.key"], None),
            ("example-2-keys", os.path.join(REPO, "examples", "release"), ["--key", "signer-a.key", "--key", "signer-b.key"], None),
            ("big", big, ["--key", "signer-b.key", "--sequence", "7", "--previous", "ab" * 32, "--expires", "2099-01-01T00:00:00Z"], None),
            ("example-signed-later", os.path.join(REPO, "examples", "release"), ["--key", "signer-a.key"], "signer-b.key"),
        ]
        made = []
        for name, rdir, extra, sign_with in cases:
            out = os.path.join(tmp, name + ".zb")
            r = run(be, "pack", "--release-dir", rdir, "--source-zone", "dev", "--target-zone", "pci", "--out", out,
                    "--created", "2026-11-01T00:00:00Z", "--json", *extra)
            try:
                digest = json.loads(r.stdout)["bundle"]["digest"]
            except (ValueError, KeyError):
                self.line(False, "pack " + name, "pack failed: %s %s" % (r.stdout[-300:], r.stderr[-300:]))
                continue
            if sign_with:
                s = run(be, "sign", out, "--key", sign_with, "--json")
                if s.returncode:
                    self.line(False, "pack " + name, "sign failed: %s %s" % (s.stdout[-300:], s.stderr[-300:]))
                    continue
            ours, _ = self.ours(out, policy, None)
            theirs = self.theirs(out, policy, None)
            want = ("accepted", digest)
            ok = ours == want and theirs == want
            if ok:
                self.agree += 1
            else:
                self.disagree.append(("pack " + name, theirs, ours))
            self.line(ok, "pack " + name, "pack digest %s; bridge-import %s, zbverify %s" % (digest[:16], _show(theirs), _show(ours)))
            made.append((name, out))
        for name, path in made[:3]:
            self.mutations(tmp, name, path, policy)
        if made and self.args.random:
            self.random_mutations(tmp, made[0][1], policy)

    def mutations(self, tmp, name, path, policy):
        with open(path, "rb") as f:
            data = f.read()
        spans = frame_spans(data)
        muts = []
        for fi, (start, hdr_end, end) in enumerate(spans):
            label = "F%d" % (fi + 1)
            muts.append(("%s-fhd" % label, _flip(data, start + 4, 0x01)))
            muts.append(("%s-fhd-reserved" % label, _flip(data, start + 4, 0x08)))
            muts.append(("%s-first-block" % label, _flip(data, hdr_end + 1, 0x10)))
            muts.append(("%s-middle" % label, _flip(data, (hdr_end + end) // 2, 0x01)))
            muts.append(("%s-checksum" % label, _flip(data, end - 1, 0x80)))
            muts.append(("%s-cut-middle" % label, data[: (start + end) // 2]))
            muts.append(("%s-cut-end" % label, data[: end - 1]))
        last_start = spans[-1][0]
        muts.append(("F3-before-last-block", _flip(data, spans[-1][2] - 6, 0x04)))
        muts.append(("cut-1", data[:1]))
        muts.append(("cut-4", data[:4]))
        muts.append(("cut-after-F1", data[: spans[0][2]]))
        muts.append(("cut-after-F2", data[: spans[1][2]]))
        muts.append(("cut-F3-magic", data[: last_start + 2]))
        muts.append(("append-zero", data + b"\0"))
        muts.append(("append-frame", data + data[spans[0][0] : spans[0][2]]))
        muts.append(("F2-and-F3-swapped", data[: spans[1][0]] + data[spans[2][0] :] + data[spans[1][0] : spans[1][2]]))
        for mname, mdata in muts:
            mpath = os.path.join(tmp, "%s.%s.zb" % (name, mname))
            with open(mpath, "wb") as f:
                f.write(mdata)
            ok, detail = self.compare("mutation %s.%s" % (name, mname), mpath, policy, None)
            self.line(ok, "mutation %s.%s" % (name, mname), detail)

    def random_mutations(self, tmp, path, policy):
        """Random damage (bit flips, byte sets, cuts) of one packed bundle, at seeded
        positions: the same positions every run (the bytes of F1 differ, since the keys are
        new each run; the file that disagreed is named in the output)."""
        import random

        rnd = random.Random(10)
        with open(path, "rb") as f:
            data = f.read()
        for n in range(self.args.random):
            b = bytearray(data)
            pick = rnd.random()
            j = rnd.randrange(len(b))
            if pick < 0.6:
                b[j] ^= 1 << rnd.randrange(8)
                what = "flip-%d" % j
            elif pick < 0.8:
                b = b[:j]
                what = "cut-%d" % j
            else:
                b[j] = rnd.randrange(256)
                what = "set-%d" % j
            mpath = os.path.join(tmp, "random-%02d-%s.zb" % (n, what))
            with open(mpath, "wb") as f:
                f.write(bytes(b))
            ok, detail = self.compare("random %s" % what, mpath, policy, None)
            self.line(ok, "random %02d %s" % (n, what), detail)

    # ------------------------------------------------------------------ 4 crafted

    def crafted(self, tmp):
        import craft

        cdir = os.path.join(tmp, "crafted")
        os.mkdir(cdir)
        for case in craft.build_all(cdir, os.path.join(self.args.vectors, "keys"), self.args.random):
            if self.args.k and self.args.k not in case.name:
                continue
            policy = os.path.join(self.args.vectors, "policies", case.policy)
            now = "2026-06-02T00:00:00+00:00"
            got, _ = self.ours(case.path, policy, now)
            problems = []
            if got[0] == "crash":
                problems.append("zbverify: %s" % got[1])
            elif case.expect is None:
                pass  # random damage: only agreement is checked
            elif got[0] != case.expect[0] or (got[0] == "refused" and got[1] != case.expect[1]):
                problems.append("chosen reading %s, zbverify %s" % (_show(case.expect), _show(got)))
            ok, detail = self.compare("crafted " + case.name, case.path, policy, now)
            if not ok:
                problems.append(detail)
            sec = " [spec %s]" % case.section
            if problems:
                self.line(False, "crafted " + case.name, "; ".join(problems) + sec)
            else:
                self.line(True, "crafted " + case.name, "%s%s%s" % (_show(got), (", " + detail) if detail else "", sec))


def _show(v):
    kind, what = v
    if kind == "accepted":
        return "accepted (%s)" % (what or "")[:16]
    return "%s %s" % (kind, what)


def _flip(data, i, mask):
    b = bytearray(data)
    b[i] ^= mask
    return bytes(b)


def frame_spans(data):
    """(start, end of header, end) of each zstd frame of a well-formed bundle (4.2)."""
    spans = []
    p = 0
    while p < len(data):
        start = p
        fhd = data[p + 4]
        single = fhd & 0x20
        hl = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + (1 if single else 0, 2, 4, 8)[fhd >> 6]
        p += hl
        hdr_end = p
        while True:
            v = int.from_bytes(data[p : p + 3], "little")
            n = 1 if (v >> 1) & 3 == 1 else v >> 3
            p += 3 + n
            if v & 1:
                break
        p += 4 if fhd & 4 else 0
        spans.append((start, hdr_end, p))
    return spans


def _big_release(tmp):
    """A release folder with a multi-block payload: a 3 MiB package (half random), an empty
    one and a path of 200 bytes (ustar prefix/name split, 4.3)."""
    d = os.path.join(tmp, "big-release")
    os.makedirs(os.path.join(d, "packages"))
    os.makedirs(os.path.join(d, "variables", "a" * 90))
    with open(os.path.join(d, "process.json"), "w") as f:
        f.write('{"Steps":[]}\n')
    long_var = os.path.join("variables", "a" * 90, "b" * 90 + ".json")
    with open(os.path.join(d, long_var), "w") as f:
        f.write('{"Variables":[]}\n')
    rnd = bytearray()
    x = 12345
    while len(rnd) < 1536 * 1024:
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        rnd += (x >> 11).to_bytes(8, "little")
    with open(os.path.join(d, "packages", "Big.1.0.0.zip"), "wb") as f:
        f.write(bytes(rnd) + b"\0" * (1536 * 1024))
    open(os.path.join(d, "packages", "Empty.1.0.0.zip"), "wb").close()
    with open(os.path.join(d, "release.toml"), "w") as f:
        f.write(
            'project = "Big"\nversion = "1.0.0"\nchannel = "Default"\nprocess = "process.json"\n'
            'variables = ["%s"]\n\n[[packages]]\nid = "Big"\nversion = "1.0.0"\nfile = "packages/Big.1.0.0.zip"\n\n'
            '[[packages]]\nid = "Empty"\nversion = "1.0.0"\nfile = "packages/Empty.1.0.0.zip"\n' % long_var.replace(os.sep, "/")
        )
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bridge_import_pos", nargs="?", help="path of bridge-import (same as --bridge-import)")
    ap.add_argument("--bridge-import")
    ap.add_argument("--bridge-export")
    ap.add_argument("--vectors", default=os.path.join(REPO, "tests", "vectors"))
    ap.add_argument("--no-pack", action="store_true")
    ap.add_argument("--no-craft", action="store_true")
    ap.add_argument("--random", type=int, default=40,
                    help="seeded random damage: N mutations of a packed bundle and N re-signed damaged manifests (default 40)")
    ap.add_argument("-k", help="only files whose name contains this")
    args = ap.parse_args()
    args.vectors = os.path.abspath(args.vectors)
    args.bridge_import = args.bridge_import or args.bridge_import_pos or shutil.which("bridge-import")
    if args.bridge_import:
        args.bridge_import = os.path.abspath(args.bridge_import)
        if not args.bridge_export:
            sib = os.path.join(os.path.dirname(args.bridge_import), "bridge-export")
            args.bridge_export = sib if os.path.exists(sib) else shutil.which("bridge-export")
    if args.bridge_export:
        args.bridge_export = os.path.abspath(args.bridge_export)
    r = Runner(args)
    print("zbverify vs %s%s" % (args.bridge_import or "(no bridge-import: vectors only)",
                                " (with --now)" if r.bi_now else (" (no --now flag: both on the system clock)" if r.bi else "")), flush=True)
    r.vectors()
    with tempfile.TemporaryDirectory(prefix="zb-second-verifier-") as tmp:
        if not args.no_pack:
            r.pack(tmp)
        if not args.no_craft:
            r.crafted(tmp)
    if r.bi:
        print("agreement: %d files agree, %d disagree" % (r.agree, len(r.disagree)))
        for name, theirs, ours in r.disagree:
            print("  DISAGREE %s: bridge-import %s, zbverify %s" % (name, _show(theirs), _show(ours)))
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
