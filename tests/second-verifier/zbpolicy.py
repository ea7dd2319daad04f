"""Trust policy reader for the second verifier (docs/bundle-format.md, section 7)."""

import base64
import datetime
import hashlib
import os
import re
import stat
import tomllib

import nacl.bindings


class ConfigError(Exception):
    """The policy is refused: exit code 3 (section 12, "configuration refused")."""


ZONE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

# Section 3: the adjustable limits, their defaults and the values a policy may set.
LIMIT_DEFAULTS = {
    "max_manifest_bytes": 8_388_608,
    "max_cbor_depth": 16,
    "max_entries": 100_000,
    "max_entry_bytes": 17_179_869_184,
    "max_total_bytes": 68_719_476_736,
    "max_window_log": 24,
}
LIMIT_RANGES = {
    "max_manifest_bytes": (1024, None),
    "max_cbor_depth": (4, 256),
    # Section 3 says "any" for these three; a negative count or size has no meaning, so
    # negative values are refused (SPEC-QUESTIONS.md).
    "max_entries": (0, None),
    "max_entry_bytes": (0, None),
    "max_total_bytes": (0, None),
    "max_window_log": (10, 31),
}

MAX_POLICY_BYTES = 1 << 20


def is_zone_id(v):
    """2.1: 1 to 64 bytes of [a-z0-9._-], the first from [a-z0-9]."""
    return isinstance(v, str) and ZONE_RE.fullmatch(v) is not None


def key_id(raw):
    """2.2: key_id = H(A)[0..16]."""
    return hashlib.sha256(raw).digest()[:16]


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Key:
    """One [[keys]] table of 7.1."""

    def __init__(self, kid, public, role, zones, not_after, comment):
        self.id = kid
        self.public = public
        self.role = role
        self.zones = zones
        self.not_after = not_after
        self.comment = comment


class Policy:
    """A trust policy (7.1), validated as 7.1 says."""

    def __init__(self, zone, thresholds, limits, allow_gaps, keys):
        self.zone = zone
        self.thresholds = thresholds
        self.limits = limits
        self.allow_gaps = allow_gaps
        self.keys = keys  # key id bytes -> Key

    def limit(self, name):
        return self.limits[name]


def _timestamp(v, what):
    """7.1 not_after: a TOML offset date-time, or an RFC 3339 string with offset."""
    if isinstance(v, str):
        try:
            v = datetime.datetime.fromisoformat(v)
        except ValueError:
            raise ConfigError("%s: not an RFC 3339 date-time: %r" % (what, v)) from None
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise ConfigError("%s has no offset (a local date-time); add Z or +HH:MM" % what)
        return v.timestamp()
    raise ConfigError("%s must be an offset date-time" % what)


def _public_key(text, what):
    """6.3: base64 with padding (44 characters) of the raw 32 bytes, optional `ed25519:`."""
    if not isinstance(text, str):
        raise ConfigError("%s: public_key must be a string" % what)
    if text.startswith("ed25519:"):
        text = text[len("ed25519:") :]
    if len(text) != 44:
        raise ConfigError("%s: public_key must be 44 base64 characters" % what)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ConfigError("%s: public_key is not base64" % what) from None
    if len(raw) != 32:
        raise ConfigError("%s: public_key is not 32 bytes" % what)
    # 6.3: keys that are not valid point encodings or are of small order are refused.
    # libsodium's check also refuses points outside the prime-order subgroup (SPEC-QUESTIONS R2).
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise ConfigError("%s: public_key is not a valid Ed25519 key (weak or not a point)" % what)
    return raw


def _check_keys(table, allowed, what):
    for k in table:
        if k not in allowed:
            raise ConfigError("%s: unknown key %r" % (what, k))


def load_policy(path):
    """Read and validate a policy file (7.1); raise ConfigError or OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError("policy %s is not a regular file" % path)
        if st.st_size > MAX_POLICY_BYTES:
            raise ConfigError("policy %s is larger than 1 MiB" % path)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_POLICY_BYTES:
        raise ConfigError("policy %s is larger than 1 MiB" % path)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError("policy %s is not valid TOML: %s" % (path, e)) from None

    _check_keys(doc, {"zone", "thresholds", "limits", "channels", "octopus", "keys"}, "policy")
    zone = doc.get("zone")
    if zone is None:
        raise ConfigError("policy: `zone` is required")
    if not is_zone_id(zone):
        raise ConfigError("policy: zone %r is not a zone id (2.1)" % (zone,))

    thresholds = {"release": 1, "result": 1}
    t = doc.get("thresholds", {})
    if not isinstance(t, dict):
        raise ConfigError("policy: [thresholds] must be a table")
    _check_keys(t, {"release", "result"}, "[thresholds]")
    for kind, v in t.items():
        if not _is_int(v) or v < 1:
            raise ConfigError("[thresholds] %s must be an integer >= 1" % kind)
        thresholds[kind] = v

    limits = dict(LIMIT_DEFAULTS)
    lt = doc.get("limits", {})
    if not isinstance(lt, dict):
        raise ConfigError("policy: [limits] must be a table")
    _check_keys(lt, set(LIMIT_DEFAULTS), "[limits]")
    for name, v in lt.items():
        lo, hi = LIMIT_RANGES[name]
        if not _is_int(v) or v < lo or (hi is not None and v > hi):
            raise ConfigError("[limits] %s = %r is out of range" % (name, v))
        limits[name] = v

    # 7.1: `[octopus] older_target` is an importer's rule, not a verification rule; it is
    # checked for shape only, as every key of the policy is.
    oc = doc.get("octopus", {})
    if not isinstance(oc, dict):
        raise ConfigError("policy: [octopus] must be a table")
    _check_keys(oc, {"older_target"}, "[octopus]")
    if "older_target" in oc and oc["older_target"] not in ("warn", "refuse"):
        raise ConfigError("[octopus] older_target must be \"warn\" or \"refuse\"")

    allow_gaps = False
    ch = doc.get("channels", {})
    if not isinstance(ch, dict):
        raise ConfigError("policy: [channels] must be a table")
    _check_keys(ch, {"allow_gaps"}, "[channels]")
    if "allow_gaps" in ch:
        if not isinstance(ch["allow_gaps"], bool):
            raise ConfigError("[channels] allow_gaps must be a boolean")
        # 7.1 (merged spec, 9.3): "no longer a choice: `true` MUST be refused (a
        # policy-wide gap switch); `false` is accepted for old files."
        if ch["allow_gaps"]:
            raise ConfigError("[channels] allow_gaps = true is refused: there is no policy-wide way past a gap (9.3). Hint: remove the key, or give one bundle up at a time with `channel skip`")
        allow_gaps = ch["allow_gaps"]

    keys = {}
    kl = doc.get("keys", [])
    if not isinstance(kl, list):
        raise ConfigError("policy: keys must be an array of tables [[keys]]")
    for n, kt in enumerate(kl):
        what = "[[keys]] #%d" % (n + 1)
        if not isinstance(kt, dict):
            raise ConfigError("%s is not a table" % what)
        _check_keys(kt, {"id", "public_key", "role", "zones", "not_after", "comment"}, what)
        for req in ("id", "public_key", "role", "zones"):
            if req not in kt:
                raise ConfigError("%s: `%s` is required" % (what, req))
        raw = _public_key(kt["public_key"], what)
        kid = kt["id"]
        if not isinstance(kid, str) or re.fullmatch(r"[0-9a-fA-F]{32}", kid) is None:
            raise ConfigError("%s: id must be 32 hex characters" % what)
        # 2.2: readers of text accept either case.
        if bytes.fromhex(kid) != key_id(raw):
            raise ConfigError("%s: id %s does not match public_key" % (what, kid))
        if kt["role"] not in ("release", "result", "diode"):
            raise ConfigError("%s: role must be \"release\", \"result\" or \"diode\"" % what)
        zones = kt["zones"]
        if not isinstance(zones, list) or not zones or not all(is_zone_id(z) for z in zones):
            raise ConfigError("%s: zones must be a non-empty array of zone ids" % what)
        not_after = None
        if "not_after" in kt:
            not_after = _timestamp(kt["not_after"], what + " not_after")
        comment = kt.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise ConfigError("%s: comment must be a string" % what)
        kb = key_id(raw)
        if kb in keys:
            raise ConfigError("%s: two [[keys]] have the id %s" % (what, kb.hex()))
        keys[kb] = Key(kb, raw, kt["role"], zones, not_after, comment)
    return Policy(zone, thresholds, limits, allow_gaps, keys)
