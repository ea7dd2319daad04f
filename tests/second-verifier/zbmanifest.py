"""Manifest and signature block rules (docs/bundle-format.md, 2.3, 5.1-5.5, 6.1, 8.3, 8.5)."""

import re

from zbcbor import CMap, CborError, count_items, decode
from zbframes import Refusal
from zbpolicy import is_zone_id


class SchemaError(Exception):
    """M (or the block) does not match the CDDL of 5.2-5.4 / 6.1."""


# ------------------------------------------------------------------- 2.3 entry paths

COMPONENT_RE = re.compile(r"[A-Za-z0-9._+~@=,-]+")


def path_problem(p):
    """2.3 per-path rules; returns None if p is an entry path, else what is wrong."""
    b = p.encode("utf-8")
    if not 1 <= len(b) <= 255:
        return "is %d bytes, not 1 to 255" % len(b)
    comps = p.split("/")
    for c in comps:
        if c == "":
            return "has an empty component (leading, trailing or doubled '/')"
        if COMPONENT_RE.fullmatch(c) is None:
            return "has a character outside [A-Za-z0-9._+~@=,-]"
        if c in (".", ".."):
            return "has a component '.' or '..'"
    # 2.3: "fits a ustar header: at most 100 bytes, or has a / at byte index i with
    # 1 <= i <= 155 and len - i - 1 <= 100".
    if len(b) > 100:
        if not any(b[i] == 0x2F and 1 <= i <= 155 and len(b) - i - 1 <= 100 for i in range(len(b))):
            return "does not fit a ustar header (name 100, prefix 155)"
    # 2.3: first component `zonebridge`, compared ignoring ASCII case, is reserved.
    if comps[0].lower() == "zonebridge":
        return "is in the reserved folder zonebridge/"
    return None


# ------------------------------------------------------------------ schema helpers

U64_MAX = (1 << 64) - 1
I63_MAX = (1 << 63) - 1


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400  # Python's // floors already (the C original truncates, hence its y - 399)
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


# 5.2 time: "Unix seconds, UTC; years -9999 to 9999".
TIME_MIN = _days_from_civil(-9999, 1, 1) * 86400
TIME_MAX = _days_from_civil(9999, 12, 31) * 86400 + 86399


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _map(v, what):
    # 5.1.9: the top level is a map, and so is every value the schema declares a map. (5.1.5
    # already refused every key that is not a text string.)
    if not isinstance(v, CMap):
        raise SchemaError("%s is not a map" % what)
    return v


def _need(m, key, what):
    if key not in m:
        raise SchemaError("%s: required key `%s` missing" % (what, key))
    return m.get(key)


def _tstr(v, what):
    if not isinstance(v, str):
        raise SchemaError("%s must be a text string" % what)
    return v


def _bstr(v, size, what):
    if not isinstance(v, bytes) or len(v) != size:
        raise SchemaError("%s must be a byte string of %d bytes" % (what, size))
    return v


def _uint(v, what, lo=0, hi=U64_MAX):
    if not _is_int(v) or v < lo or v > hi:
        raise SchemaError("%s must be an integer in %d..=%d" % (what, lo, hi))
    return v


def _time(v, what):
    if not _is_int(v) or v < TIME_MIN or v > TIME_MAX:
        raise SchemaError("%s must be a time (integer seconds, years -9999 to 9999)" % what)
    return v


def _enum(v, allowed, what):
    if not isinstance(v, str) or v not in allowed:
        raise SchemaError("%s must be one of %s" % (what, ", ".join(allowed)))
    return v


def _array(v, what):
    if not isinstance(v, list):
        raise SchemaError("%s must be an array" % what)
    return v


def _opt(m, key, fn, what):
    # 5.1.10: `null` is the value of no known key: an optional key is absent, or present with
    # a value of its type (a Simple null fails every type check below).
    if key in m:
        return fn(m.get(key), what + "." + key)
    return None


# ------------------------------------------------------------- 6.1 signature block


class SignatureBlock:
    def __init__(self, signatures):
        self.signatures = signatures  # [(key_id, signature)]


def decode_signature_block(sb, max_depth):
    """8.3.1-8.3.7: decode S_b; returns a SignatureBlock or raises Refusal."""
    try:
        # 8.3.1: S_b follows the CBOR profile of 5.1 (5.1.1-5.1.8, with max_cbor_depth).
        v = decode(sb, max_depth)
    except CborError as e:
        raise Refusal("signature-block-invalid", "the signature block breaks the CBOR profile: %s" % e) from None
    # 8.3.2: S_b is a map whose key `format` holds an unsigned integer.
    fmt = v.get("format") if isinstance(v, CMap) else None
    if not _is_int(fmt) or fmt < 0:
        raise Refusal("signature-block-invalid", "the signature block is not a map with an unsigned integer `format`")
    # 8.3.3: that integer is 1.
    if fmt != 1:
        raise Refusal("unsupported-format-version", "signature block format %d (supported: 1)" % fmt)
    try:
        # 8.3.4: S_b decodes per 6.1 and 5.1.9-5.1.11.
        sigs = _array(_need(v, "signatures", "signature block"), "signatures")
        out = []
        for i, s in enumerate(sigs):
            sm = _map(s, "signature %d" % i)
            kid = _bstr(_need(sm, "key_id", "signature"), 16, "key_id")
            sig = _bstr(_need(sm, "signature", "signature"), 64, "signature")
            out.append((kid, sig))
        # 8.3.5: `signatures` is not empty.
        if not out:
            raise SchemaError("the signatures array is empty")
    except SchemaError as e:
        raise Refusal("signature-block-invalid", str(e)) from None
    # 8.3.6 / section 3: at most 16 signatures, else limit-exceeded.
    if len(out) > 16:
        raise Refusal("limit-exceeded", "signatures per bundle: limit 16, found %d" % len(out))
    # 8.3.7: no key_id twice: duplicate-signer.
    seen = set()
    for kid, _ in out:
        if kid in seen:
            raise Refusal("duplicate-signer", "key %s signed twice" % kid.hex())
        seen.add(kid)
    return SignatureBlock(out)


# --------------------------------------------------------------- 5.2-5.4 manifest

ROLES = ("process", "variables", "package", "log", "file")
STATES = ("success", "failed", "canceled", "timed-out", "waiting")
STEP_STATES = ("pending", "running", "success", "success-with-warning", "failed", "skipped", "canceled", "unknown")
REASONS = ("manual-intervention", "guided-failure", "still-running")


class Entry:
    def __init__(self, path, size, sha256, role):
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.role = role


class Manifest:
    pass


def _entry(v, i):
    what = "entries[%d]" % i
    m = _map(v, what)
    return Entry(
        _tstr(_need(m, "path", what), what + ".path"),
        _uint(_need(m, "size", what), what + ".size"),
        _bstr(_need(m, "sha256", what), 32, what + ".sha256"),
        _enum(_need(m, "role", what), ROLES, what + ".role"),
    )


def _release(v):
    what = "release"
    m = _map(v, what)
    r = {}
    for k in ("project", "version", "channel"):
        r[k] = _tstr(_need(m, k, what), what + "." + k)
    _opt(m, "notes", _tstr, what)
    pkgs = []
    for i, p in enumerate(_array(_need(m, "packages", what), "release.packages")):
        pw = "release.packages[%d]" % i
        pm = _map(p, pw)
        _tstr(_need(pm, "id", pw), pw + ".id")
        _tstr(_need(pm, "version", pw), pw + ".version")
        path = _tstr(_need(pm, "path", pw), pw + ".path")
        size = _uint(_need(pm, "size", pw), pw + ".size")
        sha = _bstr(_need(pm, "sha256", pw), 32, pw + ".sha256")
        _bstr(_need(pm, "sha1", pw), 20, pw + ".sha1")
        # 5.5.14 (part of the schema decode, 8.5.5): a package path that breaks 2.3.
        if path_problem(path):
            raise SchemaError("release.packages path %r breaks 2.3" % path)
        pkgs.append((path, size, sha))
    r["packages"] = pkgs
    for i, s in enumerate(_array(_need(m, "secrets", what), "release.secrets")):
        sw = "release.secrets[%d]" % i
        sm = _map(s, sw)
        for k in ("owner", "name", "type"):
            _tstr(_need(sm, k, sw), sw + "." + k)
        scope = _map(_need(sm, "scope", sw), sw + ".scope")
        for k, names in scope.pairs:
            for n in _array(names, "%s.scope[%r]" % (sw, k)):
                _tstr(n, sw + ".scope name")
    return r


def _result(v):
    what = "result"
    m = _map(v, what)
    r = {}
    aw = "result.answers"
    am = _map(_need(m, "answers", what), aw)
    _bstr(_need(am, "bundle_id", aw), 16, aw + ".bundle_id")
    _bstr(_need(am, "digest", aw), 32, aw + ".digest")
    _uint(_need(am, "sequence", aw), aw + ".sequence")
    for k in ("project", "version", "environment"):
        _tstr(_need(m, k, what), what + "." + k)
    _opt(m, "tenant", _tstr, what)
    r["state"] = _enum(_need(m, "state", what), STATES, "result.state")
    _opt(m, "started", _time, what)
    _opt(m, "completed", _time, what)
    r["log"] = _tstr(_need(m, "log", what), "result.log")
    # 5.5.14 (part of the schema decode, 8.5.5): result.log that breaks 2.3.
    if path_problem(r["log"]):
        raise SchemaError("result.log %r breaks 2.3" % r["log"])
    _opt(m, "task", _tstr, what)
    if "steps" in m:
        for i, s in enumerate(_array(m.get("steps"), "result.steps")):
            sw = "result.steps[%d]" % i
            sm = _map(s, sw)
            _tstr(_need(sm, "name", sw), sw + ".name")
            _enum(_need(sm, "state", sw), STEP_STATES, sw + ".state")
            _opt(sm, "started", _time, sw)
            _opt(sm, "completed", _time, sw)
    r["waiting"] = "waiting" in m
    if "waiting" in m:
        wm = _map(m.get("waiting"), "result.waiting")
        _enum(_need(wm, "reason", "result.waiting"), REASONS, "result.waiting.reason")
        _opt(wm, "step", _tstr, "result.waiting")
    # 5.4: `? ledger_head: ledger-head`, a map with `entries: uint` and `hash: digest`
    # (bstr .size 32), unknown keys ignored (5.1.11), null refused (5.1.10). Verification
    # does not use its values (5.4), but 8.5.5 decodes it like every known key.
    if "ledger_head" in m:
        lw = "result.ledger_head"
        lm = _map(m.get("ledger_head"), lw)
        _uint(_need(lm, "entries", lw), lw + ".entries")
        _bstr(_need(lm, "hash", lw), 32, lw + ".hash")
    return r


def _schema(top):
    """5.5.2: M decodes per 5.1-5.4 (types, required keys, ranges, listed values)."""
    m = _map(top, "the manifest")
    man = Manifest()
    man.format = _uint(_need(m, "format", "manifest"), "format", 1, 1)
    man.kind = _enum(_need(m, "kind", "manifest"), ("release", "result"), "kind")
    man.bundle_id = _bstr(_need(m, "bundle_id", "manifest"), 16, "bundle_id")
    man.source_zone = _tstr(_need(m, "source_zone", "manifest"), "source_zone")
    man.target_zone = _tstr(_need(m, "target_zone", "manifest"), "target_zone")
    # 5.2: sequence 1..9223372036854775807 (A.21).
    man.sequence = _uint(_need(m, "sequence", "manifest"), "sequence", 1, I63_MAX)
    man.previous = _opt(m, "previous", lambda v, w: _bstr(v, 32, w), "manifest")
    man.created = _time(_need(m, "created", "manifest"), "created")
    man.expires = _opt(m, "expires", _time, "manifest")
    man.entries = [_entry(e, i) for i, e in enumerate(_array(_need(m, "entries", "manifest"), "entries"))]
    man.release = _opt(m, "release", lambda v, w: _release(v), "manifest")
    man.result = _opt(m, "result", lambda v, w: _result(v), "manifest")
    return man


def _probe_paths(top):
    """8.5.4: "If M's key `entries` holds an array: for each of its elements, in order, that
    is a map whose key `path` holds a text string, that string follows the per-path rules of
    2.3". Returns what the first breaking path does wrong, or None."""
    if not isinstance(top, CMap):
        return None
    entries = top.get("entries")
    if not isinstance(entries, list):
        return None
    for e in entries:
        if isinstance(e, CMap):
            p = e.get("path")
            if isinstance(p, str):
                problem = path_problem(p)
                if problem:
                    return "entry path %r %s" % (p, problem)
    return None


def decode_manifest(mb, policy):
    """8.5.1-8.5.6 (and 5.5 in the order it gives); returns a Manifest or raises Refusal."""
    try:
        # 8.5.1: M follows the CBOR profile of 5.1 (5.1.1-5.1.8, with max_cbor_depth); then
        # M holds at most max_manifest_bytes / 8 data items (section 3). "Both are judged in
        # one walk of M's bytes: a profile failure anywhere wins over the count": count_items
        # returns a count only for bytes that passed the whole profile. "/ 8" of an integer
        # limit is read as integer division (SPEC-QUESTIONS Q26).
        depth = policy.limit("max_cbor_depth")
        items = count_items(mb, depth)
        item_limit = policy.limit("max_manifest_bytes") // 8
        if items > item_limit:
            raise Refusal("limit-exceeded", "CBOR data items in the manifest: limit %d, found %d. Hint: the manifest is not one a writer makes; ask the sender to export it again" % (item_limit, items))
        top = decode(mb, depth)
    except CborError as e:
        raise Refusal("manifest-invalid", "the manifest breaks the CBOR profile: %s" % e) from None
    # 8.5.2: M is a map whose key `format` holds an unsigned integer (of any size).
    fmt = top.get("format") if isinstance(top, CMap) else None
    if not _is_int(fmt) or fmt < 0:
        raise Refusal("manifest-invalid", "the manifest is not a map with an unsigned integer `format`")
    # 8.5.3 (5.5.1): that integer is 1, before anything else of M is interpreted.
    if fmt != 1:
        raise Refusal("unsupported-format-version", "manifest format %d (supported: 1); upgrade Zonebridge on this side" % fmt)
    # 8.5.4 (5.5.8): every entries[i] that is a map with a text `path`, in order: 2.3.
    bad = _probe_paths(top)
    if bad:
        raise Refusal("path-invalid", bad)
    # 8.5.5 (5.5.2, 5.5.14): M decodes per 5.2-5.4 and 5.1.9-5.1.11.
    try:
        man = _schema(top)
    except SchemaError as e:
        raise Refusal("manifest-invalid", str(e)) from None
    # 8.5.6: the other rules of 5.5, in its order.
    _rules(man, policy)
    return man


def _invalid(msg):
    raise Refusal("manifest-invalid", msg)


def _rules(man, policy):
    """8.5.6: 5.5.3 to 5.5.15 in the order of the 5.5 table, skipping 5.5.8 and 5.5.14
    (steps 8.5.4 and 8.5.5), each in full before the next."""
    # 5.5.3
    for z, w in ((man.source_zone, "source_zone"), (man.target_zone, "target_zone")):
        if not is_zone_id(z):
            _invalid("%s %r is not a zone id (2.1)" % (w, z))
    if man.source_zone == man.target_zone:
        _invalid("source_zone and target_zone are both %r" % man.source_zone)
    # 5.5.4
    if (man.previous is not None) != (man.sequence > 1):
        _invalid("`previous` must be present if and only if sequence > 1 (sequence %d)" % man.sequence)
    # 5.5.5
    if man.expires is not None and not man.expires > man.created:
        _invalid("expires (%d) is not after created (%d)" % (man.expires, man.created))
    # 5.5.6
    if len(man.entries) > policy.limit("max_entries"):
        raise Refusal("limit-exceeded", "entries: limit %d, found %d" % (policy.limit("max_entries"), len(man.entries)))
    # 5.5.7 (Python integers do not overflow)
    total = 0
    for e in man.entries:
        if e.size > policy.limit("max_entry_bytes"):
            raise Refusal("limit-exceeded", "entry %r: size limit %d, found %d" % (e.path, policy.limit("max_entry_bytes"), e.size))
        total += e.size
    if total > policy.limit("max_total_bytes"):
        raise Refusal("limit-exceeded", "sum of entry sizes: limit %d, found %d" % (policy.limit("max_total_bytes"), total))
    # 5.5.9: distinct ignoring ASCII case; none is a folder of another. The folder test is
    # also made ignoring case, or 15.5's promise (no collision on a case-insensitive file
    # system) would not hold: `A` and `a/b` (SPEC-QUESTIONS.md).
    folded = {}
    for e in man.entries:
        k = _ascii_lower(e.path)
        if k in folded:
            _invalid("entry paths %r and %r are equal ignoring case" % (folded[k], e.path))
        folded[k] = e.path
    for e in man.entries:
        k = _ascii_lower(e.path)
        parts = k.split("/")
        for j in range(1, len(parts)):
            pre = "/".join(parts[:j])
            if pre in folded:
                _invalid("entry %r is a folder of entry %r" % (folded[pre], e.path))
    # 5.5.10
    if man.kind == "release" and (man.release is None or man.result is not None):
        _invalid("a release manifest needs `release` and no `result`")
    if man.kind == "result" and (man.result is None or man.release is not None):
        _invalid("a result manifest needs `result` and no `release`")
    roles = [e.role for e in man.entries]
    if man.kind == "release":
        # 5.5.11
        if roles.count("process") != 1:
            _invalid("a release needs exactly one process entry, found %d" % roles.count("process"))
        if "log" in roles:
            _invalid("a release has no log entry")
        # 5.5.12
        by_path = {e.path: e for e in man.entries}
        named = {}
        for path, size, sha in man.release["packages"]:
            e = by_path.get(path)
            if e is None or e.role != "package":
                _invalid("release.packages names %r, which is not a package entry" % path)
            if e.size != size or e.sha256 != sha:
                _invalid("release.packages item %r differs from its entry in size or sha256" % path)
            named[path] = named.get(path, 0) + 1
        for e in man.entries:
            if e.role == "package" and named.get(e.path, 0) != 1:
                _invalid("package entry %r is named by %d release.packages items, not 1" % (e.path, named.get(e.path, 0)))
    else:
        # 5.5.13
        logs = [e for e in man.entries if e.role == "log"]
        if len(logs) != 1:
            _invalid("a result needs exactly one log entry, found %d" % len(logs))
        if logs[0].path != man.result["log"]:
            _invalid("result.log %r is not the log entry's path %r" % (man.result["log"], logs[0].path))
        for e in man.entries:
            if e.role in ("process", "variables", "package"):
                _invalid("a result has no %s entry (%r)" % (e.role, e.path))
        # 5.5.15
        if man.result["waiting"] != (man.result["state"] == "waiting"):
            _invalid("`waiting` must be present if and only if state is waiting")


def _ascii_lower(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)
