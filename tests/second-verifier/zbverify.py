#!/usr/bin/env python3
"""Second, independent verifier of Zonebridge bundles, written from docs/bundle-format.md
and tests/vectors/README.md alone (issue 10, "Must show").

    zbverify.py BUNDLE --policy POLICY [--now RFC3339] [--json]

Runs the verification algorithm of section 8 (8.1 to 8.9) and prints the verdict; on refusal
the error code of section 12. Exit codes (section 12): 0 accepted, 1 refused, 2 usage error,
3 configuration refused (the policy), 4 input/output failure. It writes no file: 8.10, "a
verifier that only verifies (`verify`) writes no files at all"; payload bytes are hashed and
dropped. Memory is bounded by the limits of section 3 (15.2): the zstd window, the signature
block, M and its decoded form, and one block of decompressed data.
"""

import argparse
import datetime
import hashlib
import json
import os
import stat
import sys

# It writes nothing anywhere: not even Python's bytecode cache next to its modules.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nacl.exceptions  # noqa: E402
import nacl.signing  # noqa: E402

from zbframes import Frame, Refusal, Source, check_header, padding  # noqa: E402
from zbmanifest import decode_manifest, decode_signature_block, path_problem  # noqa: E402
from zbpolicy import ConfigError, load_policy  # noqa: E402

SIGNATURE_BLOCK_MAX = 65_536
DOMAIN = b"zonebridge bundle manifest v1\0"
COPY_CHUNK = 64 * 1024


class Accepted:
    def __init__(self, digest, counted, unknown, entries, kind):
        self.digest = digest
        self.counted = counted
        self.unknown = unknown
        self.entries = entries
        self.kind = kind


def read_head_record(frame, name, limit, limit_what):
    """8.1 / 8.2: the frame's content is exactly one record named `name`; returns its data."""
    where = "the %s frame" % frame.region
    # 8.1.3 / 8.2.3: the content's first 512 bytes exist (else truncated) ...
    hdr = frame.read(512)
    if len(hdr) < 512:
        raise Refusal("truncated", "%s ends before its record header" % where)
    # ... an all-zero block is bad-record (4.3 check (1), 4.4) ...
    if hdr.count(0) == 512:
        raise Refusal("bad-record", "%s holds an all-zero block where its record must be" % where)
    # ... and they pass the header checks of 4.3 in their order.
    h = check_header(hdr, where)
    # 8.1.4 / 8.2.4: the path is zonebridge/signatures.cbor (zonebridge/manifest.cbor).
    if h.path != name:
        raise Refusal("bad-record", "%s holds %r where %s must be" % (where, h.path, name))
    size = h.size
    # 8.1.5 / 8.2.5: the size is within the limit, judged before any data is read.
    if size > limit:
        raise Refusal("limit-exceeded", "%s: limit %d, found %d" % (limit_what, limit, size))
    # 8.1.6 / 8.2.6: the data and its padding follow (else truncated); zero padding.
    data = frame.read(size)
    if len(data) < size:
        raise Refusal("truncated", "%s ends inside its record" % where)
    pad = frame.read(padding(size))
    if len(pad) < padding(size):
        raise Refusal("truncated", "%s ends inside its record's padding" % where)
    if pad.count(0) != len(pad):
        raise Refusal("bad-record", "%s: padding after %s is not zero" % (where, name))
    # 8.1.7 / 8.2.7: the content ends there; then the frame ends with its checksum.
    if frame.read(1):
        raise Refusal("bad-record", "%s holds bytes after its one record" % where)
    frame.finish()
    return data


def verify_signatures(block, m_bytes, policy):
    """8.4.1: verify each signature by a key in P, in block order (the first that fails
    ends verification); 8.4.2: at least one is by a key in P. Returns (verified, unknown)."""
    signing_input = DOMAIN + m_bytes
    verified = []
    unknown = []
    for kid, sig in block.signatures:
        key = policy.keys.get(kid)
        if key is None:
            # 8.4: "Signatures by keys not in P are not verified and do not count".
            unknown.append(kid)
            continue
        try:
            # 6.2: pure Ed25519 (RFC 8032 5.1). libsodium's verify refuses S >= L and
            # small-order R and A, and compares the encoding of R, as verify_strict does.
            nacl.signing.VerifyKey(key.public).verify(signing_input, sig)
        except nacl.exceptions.BadSignatureError:
            raise Refusal("signature-invalid", "the signature by key %s does not match the manifest" % kid.hex()) from None
        verified.append(key)
    if not verified:
        raise Refusal("signer-unknown", "no signature is by a key in the policy; found %s" % ", ".join(k.hex() for k in unknown))
    return verified, unknown


def check_trust(man, verified, policy, now):
    """8.7.1-8.7.4: signers and threshold; returns the keys that counted."""
    counted = []
    reasons = []  # (key, reason) for verified keys that did not count
    for key in verified:
        reason = None
        # 8.7.1: the first failing check, in the order role, zone, validity (not_after equal
        # to now no longer counts).
        if key.role != man.kind:
            reason = "signer-wrong-role"
        elif man.source_zone not in key.zones:
            reason = "signer-zone-not-allowed"
        elif key.not_after is not None and not now < key.not_after:
            reason = "key-expired"
        if reason is None:
            counted.append(key)
        else:
            reasons.append((key, reason))
    need = policy.thresholds[man.kind]
    # 8.3 already refused a key twice, so these are distinct keys.
    if len(counted) >= need:
        return counted
    # 8.7.3: if at least one verified key has a reason and all keys with a reason have the
    # same one, refuse with it (naming the first in block order), whether or not others
    # counted; 8.7.4: else threshold-not-met.
    if reasons and len({r for _, r in reasons}) == 1:
        key, reason = reasons[0]
        raise Refusal(reason, "key %s does not count for this bundle" % key.id.hex())
    raise Refusal("threshold-not-met", "%s bundles need %d counted signatures, valid: %d" % (man.kind, need, len(counted)))


def judge_stray(h, man, index_of, i):
    """8.8.6's path rows, for a record whose path differs from e(i).path (8.9.1 for i = n)."""
    if path_problem(h.path):
        raise Refusal("path-invalid", "payload record %r: the path %s" % (h.path, path_problem(h.path)))
    j = index_of.get(h.path)
    if j is not None and j > i:
        raise Refusal("entry-out-of-order", "record %r comes before %r" % (h.path, man.entries[i].path))
    if j is not None and j < i:
        raise Refusal("entry-duplicated", "record %r appears twice" % h.path)
    raise Refusal("entry-not-in-manifest", "record %r is not in the manifest" % h.path)


def verify_payload(f3, man):
    """8.8.1-8.8.10 for every entry, then 8.9.1-8.9.4, over F3's content."""
    index_of = {e.path: i for i, e in enumerate(man.entries)}
    for i, e in enumerate(man.entries):
        block = f3.read(512)
        # 8.8.1: read a 512-byte block; the content may not end first: truncated.
        if len(block) < 512:
            raise Refusal("truncated", "the payload ends before entry %r" % e.path)
        # 8.8.2: an all-zero block here (an end marker) means entries are missing.
        if block.count(0) == 512:
            raise Refusal("entry-missing", "entry %r is missing: the payload ends first" % e.path)
        # 8.8.3-8.8.5: header checks (2) to (6) of 4.3.
        h = check_header(block, "payload record %d" % (i + 1))
        size = h.size
        # 8.8.6: the path equals e(i).path, or the stray record is judged.
        if h.path != e.path:
            judge_stray(h, man, index_of, i)
        # 8.8.7: size equals e(i).size, before any data is read.
        if size != e.size:
            raise Refusal("entry-size-mismatch", "entry %r: record size %d, manifest %d" % (e.path, size, e.size))
        # 8.8.8: exactly that many bytes follow (else truncated), hashed as they come.
        hasher = hashlib.sha256()
        left = size
        while left:
            chunk = f3.read(min(left, COPY_CHUNK))
            if not chunk:
                raise Refusal("truncated", "the payload ends inside entry %r" % e.path)
            hasher.update(chunk)
            left -= len(chunk)
        # 8.8.9: SHA-256 equals e(i).sha256, checked as soon as the last byte is in.
        if hasher.digest() != e.sha256:
            raise Refusal("hash-mismatch", "entry %r does not match its signed SHA-256" % e.path)
        # 8.8.10: the padding follows (else truncated) and is zero bytes.
        pad = f3.read(padding(size))
        if len(pad) < padding(size):
            raise Refusal("truncated", "the payload ends inside the padding of %r" % e.path)
        if pad.count(0) != len(pad):
            raise Refusal("bad-record", "the padding after %r is not zero" % e.path)
    # 8.9.1: after the last entry, a 512-byte block (truncated if the content ends); if it
    # is not all zeros, it is judged like an extra entry.
    n = len(man.entries)
    block = f3.read(512)
    if len(block) < 512:
        raise Refusal("truncated", "the payload ends before its end-of-archive marker")
    if block.count(0) != 512:
        # 8.9.1: judged like an extra entry: 8.8.3-8.8.5, then its path.
        h = check_header(block, "payload record %d" % (n + 1))
        judge_stray(h, man, index_of, n)
    # 8.9.2: the next 512 bytes exist and are zero.
    block = f3.read(512)
    if len(block) < 512:
        raise Refusal("truncated", "the payload ends inside its end-of-archive marker")
    if block.count(0) != 512:
        raise Refusal("bad-record", "the second end-of-archive block is not zero")
    # 8.9.3: the content ends there: one more byte is trailing-data (a bomb stops here,
    # after one more block at most).
    if f3.read(1):
        raise Refusal("trailing-data", "the payload frame holds data after the end-of-archive marker")
    # 8.9.4: F3 ends with a matching content checksum (4.2.9).
    f3.finish()


def verify(src, policy, now):
    """Section 8, 8.1 to 8.9; returns Accepted or raises Refusal."""
    wlog = policy.limit("max_window_log")
    # 8.1 Signature frame (8.1.1 its header, 8.1.2 its blocks, 8.1.3-8.1.7 its record).
    f1 = Frame(src, "signatures", True, wlog)
    sb = read_head_record(f1, "zonebridge/signatures.cbor", SIGNATURE_BLOCK_MAX, "signature block size")
    # 8.2 Manifest frame (8.2.1-8.2.7, the same steps).
    f2 = Frame(src, "manifest", False, wlog)
    m_bytes = read_head_record(f2, "zonebridge/manifest.cbor", policy.limit("max_manifest_bytes"), "manifest size")
    # 8.3 Decode the signature block (8.3.1-8.3.7).
    block = decode_signature_block(sb, policy.limit("max_cbor_depth"))
    # 8.4 Verify signatures (8.4.1-8.4.2), before M is decoded (15.1).
    verified, unknown = verify_signatures(block, m_bytes, policy)
    # 8.5 Decode the manifest (8.5.1-8.5.6).
    man = decode_manifest(m_bytes, policy)
    # 8.6.1 Binding: target_zone is P's zone; 8.6.2: expires absent, or now < expires.
    if man.target_zone != policy.zone:
        raise Refusal("wrong-target-zone", "the bundle is for zone %r; this side is %r" % (man.target_zone, policy.zone))
    if man.expires is not None and man.expires <= now:
        raise Refusal("bundle-expired", "the bundle expired at %d" % man.expires)
    # 8.7 Signers and threshold (8.7.1-8.7.4).
    counted = check_trust(man, verified, policy, now)
    # 8.8 Payload: F3's header (4.2.1-4.2.4), then every entry; 8.9 End.
    f3 = Frame(src, "payload", False, wlog)
    verify_payload(f3, man)
    # 8.9.5: the file ends: any further byte, a zstd frame or not, is trailing-data.
    if src.read(1):
        raise Refusal("trailing-data", "bytes follow the payload frame")
    return Accepted(hashlib.sha256(m_bytes).hexdigest(), counted, unknown, man.entries, man.kind)


def parse_now(text):
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    return t.timestamp()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify a Zonebridge bundle (second verifier, from the spec).")
    ap.add_argument("bundle")
    ap.add_argument("--policy", required=True)
    ap.add_argument("--now", help="the verifier's clock, RFC 3339 with offset (default: the system clock)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    def emit(obj, text, rc):
        if args.json:
            print(json.dumps(obj, sort_keys=True))
        else:
            print(text)
        return rc

    if args.now is not None:
        now = parse_now(args.now)
        if now is None:
            print("zbverify: --now %r is not an RFC 3339 date-time with offset" % args.now, file=sys.stderr)
            return 2
    else:
        # 8 / A.30: the clock is read once, at the start.
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()

    try:
        policy = load_policy(args.policy)
    except ConfigError as e:
        return emit({"verdict": "error", "error": "config", "message": str(e)}, "configuration refused: %s" % e, 3)
    except OSError as e:
        return emit({"verdict": "error", "error": "io", "message": str(e)}, "io: policy: %s" % e, 4)

    try:
        # O_NONBLOCK so that opening a FIFO never blocks; it is refused just below.
        fd = os.open(args.bundle, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return emit({"verdict": "error", "error": "io", "message": str(e)}, "io: %s" % e, 4)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            msg = "%s is not a regular file" % args.bundle
            return emit({"verdict": "error", "error": "io", "message": msg}, "io: " + msg, 4)
        os.set_blocking(fd, True)
        raw = os.fdopen(fd, "rb", buffering=0, closefd=False)
        src = Source(raw)
        try:
            acc = verify(src, policy, now)
        except Refusal as r:
            return emit(
                {"verdict": "refused", "code": r.code, "message": r.message, "bytes_read": src.bytes_read},
                "refused: %s: %s" % (r.code, r.message),
                1,
            )
        except OSError as e:
            return emit({"verdict": "error", "error": "io", "message": str(e)}, "io: %s" % e, 4)
    finally:
        os.close(fd)
    return emit(
        {
            "verdict": "accepted",
            "digest": acc.digest,
            "kind": acc.kind,
            "counted": [k.id.hex() for k in acc.counted],
            "unknown_signers": [k.hex() for k in acc.unknown],
            "entries": [{"path": e.path, "size": e.size, "sha256": e.sha256.hex()} for e in acc.entries],
            "bytes_read": src.bytes_read,
        },
        "accepted: digest %s, %d entries, counted keys %s" % (acc.digest, len(acc.entries), ", ".join(k.id.hex() for k in acc.counted)),
        0,
    )


if __name__ == "__main__":
    sys.exit(main())
