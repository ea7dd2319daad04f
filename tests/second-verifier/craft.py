"""Crafted bundles for the places where docs/bundle-format.md left, or leaves, room for two
readings (SPEC-QUESTIONS.md). Each case carries the verdict the spec gives (as revised on
branch i10-spec: where the spec on main left a choice, SPEC-QUESTIONS.md says what was chosen
then) and the section it rests on; run-vectors.py checks zbverify against it and asks the
binary.

Bundles are built from primitives written from the spec (4.2 frames, 4.3 headers, 5.1 CBOR,
6.1-6.2 signatures) and signed with the public test keys of tests/vectors/keys (seeds of
one repeated byte, tests/vectors/README.md), so a defect sits inside signed bytes where needed.
"""

import hashlib
import os

import cbor2
import nacl.signing
import zstandard

DOMAIN = b"zonebridge bundle manifest v1\0"
CREATED = 1780272000  # 2026-06-01T00:00:00Z, the vectors' creation time
TIME_MAX = 253402300799  # 9999-12-31T23:59:59Z
TIME_MIN = -377705116800  # -9999-01-01T00:00:00Z (proleptic Gregorian, year 0 exists)


class Raw:
    """Bytes put into the CBOR output as they are."""

    def __init__(self, b):
        self.b = b


class Pairs:
    """A CBOR map written from (key, value) pairs, in order, duplicates allowed."""

    def __init__(self, pairs, indefinite=False):
        self.pairs = list(pairs)
        self.indefinite = indefinite

    def get(self, k):
        for kk, v in self.pairs:
            if kk == k:
                return v
        raise KeyError(k)

    def set(self, k, v):
        for i, (kk, _) in enumerate(self.pairs):
            if kk == k:
                self.pairs[i] = (k, v)
                return self
        self.pairs.append((k, v))
        return self

    def drop(self, k):
        self.pairs = [(kk, v) for kk, v in self.pairs if kk != k]
        return self


def _head(mt, n):
    if n < 24:
        return bytes([(mt << 5) | n])
    for ai, w in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * w):
            return bytes([(mt << 5) | ai]) + n.to_bytes(w, "big")
    raise ValueError(n)


def enc(v):
    if isinstance(v, Raw):
        return v.b
    if isinstance(v, Pairs):
        if v.indefinite:
            return b"\xbf" + b"".join(enc(k) + enc(x) for k, x in v.pairs) + b"\xff"
        return _head(5, len(v.pairs)) + b"".join(enc(k) + enc(x) for k, x in v.pairs)
    if isinstance(v, list):
        return _head(4, len(v)) + b"".join(enc(x) for x in v)
    # Scalars in preferred serialization (5.1) by cbor2.
    return cbor2.dumps(v)


class Key:
    def __init__(self, seed_byte):
        self.sk = nacl.signing.SigningKey(bytes([seed_byte]) * 32)
        self.id = hashlib.sha256(bytes(self.sk.verify_key)).digest()[:16]

    def sign(self, m):
        return self.sk.sign(DOMAIN + m).signature


RELEASE_A, RELEASE_B, RESULT_PCI, WRONG_ROLE, QA_ONLY, EXPIRED, STRANGER = (Key(b) for b in (1, 2, 3, 4, 5, 6, 9))


# ----------------------------------------------------------------- ustar (4.3)


def octal(n, width):
    return ("%0*o" % (width - 1, n)).encode() + b"\0"


def header(path, size, typeflag=b"0", size_field=None, split=None, chksum=None):
    h = bytearray(512)
    p = path.encode()
    if split is None and len(p) > 100:
        split = p.rindex(b"/", 0, 156)
    if split is None:
        h[0 : len(p)] = p
    else:
        h[345 : 345 + split] = p[:split]
        name = p[split + 1 :]
        h[0 : len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    s = sum(h)
    h[148:156] = chksum(s) if chksum else octal(s, 8)
    return bytes(h)


def record(path, data, **kw):
    return header(path, len(data), **kw) + data + b"\0" * ((-len(data)) % 512)


# ----------------------------------------------------------------- frames (4.2)


def frame_one_shot(content):
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(content)


def frame_stream(content):
    c = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=False)
    o = c.compressobj()
    return o.compress(content) + o.flush()


# ------------------------------------------------------------------ the bundle

PROCESS = b'{"Steps":[]}\n'
VARS = b'{"Variables":[]}\n'
PKG = bytes((i * 7919 + 13) % 251 for i in range(3000))  # not compressible much


def entry(path, data, role):
    return Pairs([("path", path), ("size", len(data)), ("sha256", hashlib.sha256(data).digest()), ("role", role)])


def base_files():
    return [("process.json", PROCESS, "process"), ("variables/project.json", VARS, "variables"),
            ("packages/App.1.0.0.zip", PKG, "package")]


def release_manifest(files):
    pkgs = [Pairs([("id", "App"), ("version", "1.0.0"), ("path", p), ("size", len(d)),
                   ("sha256", hashlib.sha256(d).digest()), ("sha1", hashlib.sha1(d).digest())])
            for p, d, r in files if r == "package"]
    return Pairs([
        ("format", 1), ("kind", "release"), ("bundle_id", bytes(range(16))), ("source_zone", "dev"),
        ("target_zone", "pci"), ("sequence", 1), ("created", CREATED),
        ("entries", [entry(p, d, r) for p, d, r in files]),
        ("release", Pairs([
            ("project", "App"), ("version", "1.0.0"), ("channel", "Default"), ("packages", pkgs),
            ("secrets", [Pairs([("owner", "App"), ("name", "Db.Password"), ("type", "Sensitive"),
                                ("scope", Pairs([("Environment", ["Production"])]))])]),
        ])),
    ])


def result_files():
    return [("logs/task.log", b"deployed\n", "log"), ("files/report.txt", b"ok\n", "file")]


def result_manifest(files):
    return Pairs([
        ("format", 1), ("kind", "result"), ("bundle_id", bytes(range(16))), ("source_zone", "pci"),
        ("target_zone", "dev"), ("sequence", 1), ("created", CREATED),
        ("entries", [entry(p, d, r) for p, d, r in files]),
        ("result", Pairs([
            ("answers", Pairs([("bundle_id", bytes(16)), ("digest", bytes(32)), ("sequence", 1)])),
            ("project", "App"), ("version", "1.0.0"), ("environment", "Production"), ("state", "success"),
            ("log", "logs/task.log"),
        ])),
    ])


def sig_block(m, keys):
    return enc(Pairs([("format", 1), ("signatures", [Pairs([("key_id", k.id), ("signature", k.sign(m))]) for k in keys])]))


def bundle(m_bytes=None, files=None, manifest=None, keys=(RELEASE_A,), sb=None, f3_content=None, records=None,
           f1=None, f2=None, f3=None):
    files = base_files() if files is None else files
    if m_bytes is None:
        m_bytes = enc(manifest if manifest is not None else release_manifest(files))
    if sb is None:
        sb = sig_block(m_bytes, keys)
    if f3_content is None:
        recs = records if records is not None else [record(p, d) for p, d, _ in files]
        f3_content = b"".join(recs) + b"\0" * 1024
    f1 = f1 if f1 is not None else frame_one_shot(record("zonebridge/signatures.cbor", sb))
    f2 = f2 if f2 is not None else frame_one_shot(record("zonebridge/manifest.cbor", m_bytes))
    f3 = f3 if f3 is not None else frame_stream(f3_content)
    return f1 + f2 + f3


class Case:
    def __init__(self, name, section, expect, data, policy="pci.toml"):
        self.name = name
        self.section = section
        self.expect = expect  # ("accepted", None) or ("refused", code)
        self.data = data
        self.policy = policy
        self.path = None


ACCEPT = ("accepted", None)


def refuse(code):
    return ("refused", code)


def _nested(depth_arrays):
    v = 0
    for _ in range(depth_arrays):
        v = [v]
    return v


def _raw_block_f3(content):
    """F3 as raw (uncompressed) blocks, so a byte of an entry can be changed in the file
    without touching the frame checksum."""
    c = zstandard.ZstdCompressor(level=1, write_checksum=True, write_content_size=False)
    o = c.compressobj()
    real = o.compress(content) + o.flush()
    # Header: magic, FHD 0x04, Window_Descriptor 0x58 (2^21), then raw blocks, then the
    # checksum the library computed over the same content.
    out = bytearray(b"\x28\xb5\x2f\xfd\x04\x58")
    for i in range(0, len(content), 65536):
        chunk = content[i : i + 65536]
        last = 1 if i + 65536 >= len(content) else 0
        out += ((len(chunk) << 3) | last).to_bytes(3, "little") + chunk
    out += real[-4:]
    return bytes(out)


def build_cases():
    cs = []
    add = lambda *a, **kw: cs.append(Case(*a, **kw))  # noqa: E731
    files = base_files()
    recs = [record(p, d) for p, d, _ in files]
    end = b"\0" * 1024

    add("control_plain_release", "8", ACCEPT, bundle())
    add("control_result_with_file_entry", "5.5.13, A.24", ACCEPT,
        bundle(files=result_files(), manifest=result_manifest(result_files()), keys=(RESULT_PCI,)), policy="dev.toml")

    # 4.3 size field forms.
    b256 = b"\x80" + len(PKG).to_bytes(11, "big")
    add("tar_size_base256_small", "4.3", ACCEPT,
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=b256)]))
    add("tar_size_base256_2e63", "4.3", refuse("bad-record"),
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=b"\x80" + (1 << 63).to_bytes(11, "big"))]))
    add("tar_size_base256_ff_prefix", "4.3", refuse("bad-record"),
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=b"\xff" + len(PKG).to_bytes(11, "big"))]))
    add("tar_size_12_octal_digits_no_nul", "4.3", ACCEPT,
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=("%012o" % len(PKG)).encode())]))
    add("tar_size_spaces_around", "4.3", ACCEPT,
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=(" %o \0" % len(PKG)).encode().ljust(12, b"\0"))]))
    add("tar_size_space_inside", "4.3", refuse("bad-record"),
        bundle(records=recs[:2] + [record(files[2][0], PKG, size_field=b"0000 5670\0\0\0")]))
    add("tar_chksum_leading_spaces", "4.3", ACCEPT,
        bundle(records=[record(files[0][0], PROCESS, chksum=lambda s: (" %o\0" % s).encode().rjust(8, b" "))] + recs[1:]))
    add("tar_short_path_split_prefix_name", "4.3", ACCEPT,
        bundle(records=[recs[0], record(files[1][0], VARS, split=len("variables"))] + recs[2:]))
    add("tar_f1_split_prefix_name", "4.3, 8.1", ACCEPT,
        bundle(f1=frame_one_shot(record("zonebridge/signatures.cbor", sig_block(enc(release_manifest(files)), [RELEASE_A]), split=10))))
    add("tar_f1_followed_by_end_marker", "4.4", refuse("bad-record"),
        bundle(f1=frame_one_shot(record("zonebridge/signatures.cbor", sig_block(enc(release_manifest(files)), [RELEASE_A])) + end)))
    add("tar_extra_record_bad_path", "8.9", refuse("path-invalid"),
        bundle(f3_content=b"".join(recs) + record("../evil", b"x") + end))
    add("tar_extra_record_repeats_first", "8.9", refuse("entry-duplicated"),
        bundle(f3_content=b"".join(recs) + recs[0] + end))

    # 5.1 CBOR: null, unknown keys, key types, duplicates, encodings.
    add("cbor_null_for_optional_expires", "5.1", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("expires", None)))
    add("cbor_null_for_optional_notes", "5.1, 5.3", refuse("manifest-invalid"),
        bundle(manifest=_with_release(files, lambda r: r.set("notes", None))))
    add("cbor_null_in_unknown_key", "5.1, 10", ACCEPT,
        bundle(manifest=release_manifest(files).set("later", None)))
    add("cbor_unknown_key_4000_bytes", "5.1, 10", ACCEPT,
        bundle(manifest=release_manifest(files).set("x" * 4000, "y")))
    add("cbor_unknown_key_in_entry", "5.1, 6.1", ACCEPT,
        bundle(manifest=_with_entry0(files, lambda e: e.set("mode", 420))))
    add("cbor_byte_string_key_top", "5.1, 5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set(b"extra", 1)))
    add("cbor_integer_key_top", "5.1, 5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set(7, 1)))
    add("cbor_byte_string_key_in_unknown_value", "5.1.5", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Pairs([(b"k", 1)]))))
    add("cbor_duplicate_key_in_scope", "5.1.6", refuse("manifest-invalid"),
        bundle(manifest=_with_release(files, lambda r: r.get("secrets")[0].set(
            "scope", Pairs([("Environment", ["Production"]), ("Environment", ["Staging"])])))))
    add("cbor_duplicate_unknown_key", "5.1.6", refuse("manifest-invalid"),
        bundle(manifest=Pairs(release_manifest(files).pairs + [("later", 1), ("later", 2)])))
    add("cbor_duplicate_key_inside_unknown_value", "5.1.6", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Pairs([("a", 1), ("a", 2)]))))
    add("cbor_duplicate_key_in_entry", "5.1", refuse("manifest-invalid"),
        bundle(manifest=_with_entry0(files, lambda e: e.pairs.append(("role", "process")))))
    add("cbor_nonpreferred_integer", "5.1.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("format", Raw(b"\x18\x01"))))
    add("cbor_indefinite_top_map", "5.1.2", refuse("manifest-invalid"),
        bundle(manifest=Pairs(release_manifest(files).pairs, indefinite=True)))
    add("cbor_indefinite_text", "5.1.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("source_zone", Raw(b"\x7f\x62de\x61v\xff"))))
    add("cbor_tag_on_created", "5.1.4", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("created", Raw(b"\xc1" + cbor2.dumps(CREATED)))))
    add("cbor_float_in_unknown_key", "5.1.4", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", 1.5)))
    add("cbor_float_for_created", "5.1, 5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("created", float(CREATED))))
    add("cbor_true_for_sequence", "5.1, 5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("sequence", True)))
    add("cbor_text_not_utf8_in_unknown_value", "5.1", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Raw(b"\x62\xc3\x28"))))
    add("cbor_trailing_byte", "5.1", refuse("manifest-invalid"),
        bundle(m_bytes=enc(release_manifest(files)) + b"\x00"))
    add("cbor_depth_16_exactly", "3", ACCEPT,
        bundle(manifest=release_manifest(files).set("later", _nested(15))))
    add("cbor_depth_17", "3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", _nested(16))))

    # 8.5 format probe: how far it reads.
    v2 = Pairs([("format", 2), ("volumes", [1, 2])])
    add("probe_format2_plain", "8.5", refuse("unsupported-format-version"), bundle(manifest=v2))
    add("probe_format2_bytes_key", "5.1.5, 8.5.1", refuse("manifest-invalid"),
        bundle(manifest=Pairs(v2.pairs + [(b"k", 1)])))
    add("probe_format2_duplicate_key", "8.5, 5.1", refuse("manifest-invalid"),
        bundle(manifest=Pairs(v2.pairs + [("volumes", 3)])))
    add("probe_format2_trailing_bytes", "8.5, 5.1", refuse("manifest-invalid"),
        bundle(m_bytes=enc(v2) + b"\x00"))
    add("probe_format2_last_key", "8.5", refuse("unsupported-format-version"),
        bundle(manifest=Pairs([("volumes", [1]), ("format", 2)])))
    add("probe_format_text", "8.5", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("format", "1")))
    add("probe_format_negative", "8.5", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("format", -1)))
    add("probe_format_duplicate_1_then_2", "8.5, 5.1", refuse("manifest-invalid"),
        bundle(manifest=Pairs(release_manifest(files).pairs + [("format", 2)])))
    add("probe_bad_path_and_missing_key", "5.5.8", refuse("path-invalid"),
        bundle(manifest=_bad_path_missing_created(files)))

    # 5.2 / 2.3 / 5.5.9
    add("time_max", "5.2", ACCEPT, bundle(manifest=release_manifest(files).set("created", TIME_MAX)))
    add("time_max_plus_1", "5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("created", TIME_MAX + 1)))
    add("time_min", "5.2", ACCEPT, bundle(manifest=release_manifest(files).set("created", TIME_MIN)))
    add("time_min_minus_1", "5.2", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("created", TIME_MIN - 1)))
    add("sequence_2e63_minus_1", "5.2", ACCEPT,
        bundle(manifest=release_manifest(files).set("sequence", (1 << 63) - 1).set("previous", bytes(32))))
    cf = [files[0], ("Variables", VARS, "variables"), ("variables/project.json", VARS, "variables"), files[2]]
    add("path_folder_clash_ignoring_case", "2.3, 5.5.9, 15.5", refuse("manifest-invalid"), bundle(files=cf))
    cf2 = [files[0], ("variables", VARS, "variables"), ("variables/project.json", VARS, "variables"), files[2]]
    add("path_folder_clash_same_case", "2.3, 5.5.9", refuse("manifest-invalid"), bundle(files=cf2))
    p100 = "variables/" + "v" * 90
    add("path_100_bytes_name_no_nul", "2.3, 4.3", ACCEPT,
        bundle(files=[files[0], (p100, VARS, "variables"), files[2]]))

    add("path_three_dots_component", "2.3", ACCEPT,
        bundle(files=[files[0], ("variables/.../project.json", VARS, "variables"), files[2]]))
    add("path_256_bytes", "2.3", refuse("path-invalid"),
        bundle(files=[files[0], ("variables/" + "a" * 100 + "/" + "b" * 100 + "/" + "c" * 44, VARS, "variables"), files[2]]))
    add("zone_65_bytes", "2.1, 5.5.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("source_zone", "d" * 65)))
    add("zone_64_bytes_not_in_key", "2.1, 8.7", refuse("signer-zone-not-allowed"),
        bundle(manifest=release_manifest(files).set("source_zone", "d" * 64)))
    add("zone_uppercase", "2.1, 5.5.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("source_zone", "Dev")))
    add("expires_equals_created", "5.5.5", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("expires", CREATED)))
    add("created_negative_year_1900", "5.2", ACCEPT,
        bundle(manifest=release_manifest(files).set("created", -2208988800)))
    add("cbor_keys_reordered", "5.1 (order is a writer rule)", ACCEPT,
        bundle(manifest=Pairs(list(reversed(release_manifest(files).pairs)))))
    add("cbor_format_key_indefinite_text", "5.1.2, 8.5.1", refuse("manifest-invalid"),
        bundle(manifest=Pairs([(Raw(b"\x7f\x63for\x63mat\xff"), 1)] + release_manifest(files).pairs[1:])))
    add("release_scope_empty", "5.3", ACCEPT,
        bundle(manifest=_with_release(files, lambda r: r.get("secrets")[0].set("scope", Pairs([])))))
    add("release_secrets_missing", "5.3", refuse("manifest-invalid"),
        bundle(manifest=_with_release(files, lambda r: r.drop("secrets"))))
    add("release_sha1_19_bytes", "5.3", refuse("manifest-invalid"),
        bundle(manifest=_with_release(files, lambda r: r.get("packages")[0].set("sha1", bytes(19)))))
    rf = result_files()
    add("result_answers_sequence_0", "5.4", ACCEPT,
        bundle(files=rf, manifest=_with_result(rf, lambda r: r.get("answers").set("sequence", 0)), keys=(RESULT_PCI,)),
        policy="dev.toml")
    add("result_waiting_with_success", "5.5.15", refuse("manifest-invalid"),
        bundle(files=rf, manifest=_with_result(rf, lambda r: r.set("waiting", Pairs([("reason", "still-running")]))),
               keys=(RESULT_PCI,)), policy="dev.toml")
    add("result_step_unknown_state", "5.4", ACCEPT,
        bundle(files=rf, manifest=_with_result(rf, lambda r: r.set("steps", [Pairs([("name", "Step 1"), ("state", "unknown")])])),
               keys=(RESULT_PCI,)), policy="dev.toml")
    add("result_log_path_invalid", "5.5.14", refuse("manifest-invalid"),
        bundle(files=rf, manifest=_with_result(rf, lambda r: r.set("log", "../task.log")), keys=(RESULT_PCI,)),
        policy="dev.toml")
    add("result_signed_by_release_key", "8.7", refuse("signer-unknown"),
        bundle(files=rf, manifest=result_manifest(rf), keys=(RELEASE_A,)), policy="dev.toml")

    # 6.1 / 8.3 signature block order of checks.
    m = enc(release_manifest(files))
    sig_a = Pairs([("key_id", RELEASE_A.id), ("signature", RELEASE_A.sign(m))])
    add("sigblock_format2_no_signatures", "8.3, 10", refuse("unsupported-format-version"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 2), ("sigs", 1)]))))
    add("sigblock_format_text", "8.3", refuse("signature-block-invalid"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", "1"), ("signatures", [sig_a])]))))
    strangers = [Pairs([("key_id", bytes([i]) * 16), ("signature", bytes(64))]) for i in range(16)]
    add("sigblock_17_one_malformed", "8.3", refuse("signature-block-invalid"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a] + strangers[:15] + [Pairs([("key_id", b"short")])])]))))
    add("sigblock_17_with_duplicate", "8.3", refuse("limit-exceeded"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a] + strangers[:15] + [sig_a])]))))
    add("sigblock_duplicate_unknown_signer", "8.3", refuse("duplicate-signer"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a, strangers[3], strangers[3]])]))))
    add("sigblock_byte_string_key", "5.1, 6.1", refuse("signature-block-invalid"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a]), (b"x", 1)]))))
    add("sigblock_unknown_key", "6.1, 10", ACCEPT,
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a.set("comment", "x")]), ("later", 1)]))))
    add("sigblock_duplicate_key", "5.1", refuse("signature-block-invalid"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a]), ("format", 1)]))))
    bad_b = Pairs([("key_id", RELEASE_B.id), ("signature", bytes(64))])
    add("sig_valid_then_invalid_trusted", "8.4", refuse("signature-invalid"),
        bundle(m_bytes=m, sb=enc(Pairs([("format", 1), ("signatures", [sig_a, bad_b])]))))
    add("sig_s_not_reduced", "6.2", refuse("signature-invalid"), bundle(m_bytes=m, sb=_s_plus_l(m)))

    # More corners of the revised 5.1 profile and of 8.1.
    add("x_cbor_undefined_in_unknown_value", "5.1.4", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Raw(b"\xf7"))))
    add("x_cbor_simple_32_in_unknown_value", "5.1.4", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Raw(b"\xf8\x20"))))
    add("x_cbor_true_and_false_in_unknown_value", "5.1.4, 5.1.11", ACCEPT,
        bundle(manifest=release_manifest(files).set("later", [True, False, None, -5, b"x", {}])))
    add("x_cbor_empty_unknown_key", "5.1.11", ACCEPT,
        bundle(manifest=release_manifest(files).set("", 1)))
    add("x_cbor_non_shortest_text_length", "5.1.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("source_zone", Raw(b"\x78\x03dev"))))
    add("x_cbor_non_shortest_negative", "5.1.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Raw(b"\x38\x00"))))
    add("x_cbor_non_shortest_map_count", "5.1.3", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("later", Raw(b"\xb8\x00"))))
    add("x_cbor_true_for_unknown_but_bool_for_sequence", "5.1.9", refuse("manifest-invalid"),
        bundle(manifest=release_manifest(files).set("sequence", False)))
    add("x_format_u64_max", "8.5.2, 8.5.3", refuse("unsupported-format-version"),
        bundle(manifest=release_manifest(files).set("format", (1 << 64) - 1)))
    add("x_entry_size_u64_max", "5.5.7", refuse("limit-exceeded"),
        bundle(manifest=_with_entry0(files, lambda e: e.set("size", (1 << 64) - 1))))
    sb_big = sig_block(m, [RELEASE_A])
    pad_key = enc(Pairs([("format", 1), ("signatures", [sig_a]), ("pad", "")]))
    fill = 65536 - len(pad_key)
    sb_65536 = enc(Pairs([("format", 1), ("signatures", [sig_a]), ("pad", "z" * (fill - 2))]))
    assert len(sb_65536) == 65536
    add("x_sigblock_65536_bytes", "8.1.5", ACCEPT,
        bundle(m_bytes=m, sb=sb_65536))
    sb_65537 = enc(Pairs([("format", 1), ("signatures", [sig_a]), ("pad", "z" * (fill - 1))]))
    add("x_sigblock_65537_bytes", "8.1.5", refuse("limit-exceeded"), bundle(m_bytes=m, sb=sb_65537))
    add("x_f1_header_says_70000_then_ends", "8.1.5", refuse("limit-exceeded"),
        bundle(f1=frame_one_shot(header("zonebridge/signatures.cbor", 70000))))
    add("x_f1_header_only_right_size", "8.1.6", refuse("truncated"),
        bundle(f1=frame_one_shot(header("zonebridge/signatures.cbor", len(sb_big)))))
    add("x_f1_all_zero_block", "8.1.3", refuse("bad-record"), bundle(f1=frame_one_shot(b"\0" * 1024)))
    add("x_f1_empty_content", "8.1.3", refuse("truncated"), bundle(f1=frame_one_shot(b"")))
    add("x_f3_empty_content", "8.8.1", refuse("truncated"), bundle(f3=frame_stream(b"")))

    # 8.7 thresholds.
    add("trust_2of2_wrong_role_and_expired", "8.7", refuse("threshold-not-met"),
        bundle(keys=(WRONG_ROLE, EXPIRED)), policy="pci_2of2.toml")
    add("trust_2of2_only_wrong_role", "8.7, A.18", refuse("signer-wrong-role"),
        bundle(keys=(WRONG_ROLE,)), policy="pci_2of2.toml")
    add("trust_1of1_counted_plus_wrong_role", "8.7", ACCEPT, bundle(keys=(WRONG_ROLE, RELEASE_A)))
    add("trust_2of2_stranger_and_a", "8.7", refuse("threshold-not-met"),
        bundle(keys=(STRANGER, RELEASE_A)), policy="pci_2of2.toml")

    # 4.2 container edges.
    good = bundle()
    add("container_4_bytes_other", "4.2.1", refuse("not-a-bundle"), b"PK\x03\x04")
    add("container_3_bytes_magic_prefix", "4.2.1", refuse("truncated"), b"\x28\xb5\x2f")
    add("container_skippable_first", "4.2", refuse("unexpected-frame"), b"\x50\x2a\x4d\x18\x04\x00\x00\x00abcd" + good)
    f1 = frame_one_shot(record("zonebridge/signatures.cbor", sig_block(m, [RELEASE_A])))
    add("container_f3_window_2e24_exactly", "3, 4.2", ACCEPT, bundle(f3=_with_wd(0x70)))
    add("container_f3_window_2e24_plus_mantissa", "3, 4.2", refuse("window-too-large"), bundle(f3=_with_wd(0x71)))
    fcs = bytearray(f1)
    assert fcs[4] == 0x64
    fcs[5] += 2  # F1's Frame_Content_Size 512 bytes larger than its content
    add("container_f1_content_size_too_large", "4.2 (RFC 8878 3.1.1.1.4)", refuse("corrupt"),
        bundle(m_bytes=m, f1=bytes(fcs)))
    add("container_f2_two_bytes_of_garbage", "4.2.1, 8.2.1", refuse("unexpected-frame"), f1 + b"PK")
    dict0 = bytearray(frame_stream(b"".join(recs) + end))
    dict0[4] |= 0x01
    dict0[6:6] = b"\x00"
    add("container_f3_dictionary_id_zero", "4.2, A.3", ACCEPT, bundle(f3=bytes(dict0)))
    raw = bytearray(_raw_block_f3(b"".join(recs) + end))
    pos = 6 + 3 + 512 * 3 + len(PROCESS) + ((-len(PROCESS)) % 512) + len(VARS) + ((-len(VARS)) % 512) + len(PKG) - 1
    # pos counts the 3-byte header of the first raw block only: the content is < 64 KiB.
    raw[pos] ^= 0x01
    add("payload_last_entry_damaged_checksum_stale", "8.8, 8.9", refuse("hash-mismatch"), bundle(f3=bytes(raw)))
    raw2 = bytearray(_raw_block_f3(b"".join(recs) + end))
    raw2[6 + 3 + 512 + 2] ^= 0x01
    add("payload_first_entry_damaged_checksum_stale", "8.8, 8.9", refuse("hash-mismatch"), bundle(f3=bytes(raw2)))
    # The same damage, with the frame's end 300 KB away: does the verdict depend on where the
    # damaged entry sits relative to the checksum (issue 10, point 11)?
    bigfiles = files[:2] + [("packages/App.1.0.0.zip", PKG * 100, "package")]
    bigrecs = [record(p, d) for p, d, _ in bigfiles]
    raw4 = bytearray(_raw_block_f3(b"".join(bigrecs) + end))
    raw4[6 + 3 + 512 + 2] ^= 0x01
    add("payload_first_entry_damaged_checksum_stale_far", "8.8, 8.9", refuse("hash-mismatch"),
        bundle(files=bigfiles, f3=bytes(raw4)))
    raw5 = bytearray(_raw_block_f3(b"".join(bigrecs) + end))
    raw5[6 + 3 + 140] ^= 0x01  # an mtime digit of the first header: its checksum fails
    add("payload_first_header_damaged_checksum_stale_far", "8.8, 8.9", refuse("bad-record"),
        bundle(files=bigfiles, f3=bytes(raw5)))
    raw6 = bytearray(_raw_block_f3(b"".join(bigrecs) + end))
    raw6[6 + 3 + 512 + 2] ^= 0x01
    raw6[-1] ^= 0x01  # and the frame ends 1 byte early: the file is cut inside the checksum
    add("payload_first_entry_damaged_file_cut_far", "8.8, 8.9", refuse("hash-mismatch"),
        bundle(files=bigfiles, f3=bytes(raw6[:-1])))
    hugefiles = files[:2] + [("packages/App.1.0.0.zip", PKG * 3000, "package")]
    raw7 = bytearray(_raw_block_f3(b"".join(record(p, d) for p, d, _ in hugefiles) + end))
    raw7[6 + 3 + 140] ^= 0x01
    add("payload_first_header_damaged_checksum_stale_9mb", "8.8, 8.9", refuse("bad-record"),
        bundle(files=hugefiles, f3=bytes(raw7)))
    raw3 = bytearray(_raw_block_f3(b"".join(recs) + end))
    raw3[-4 - 1] ^= 0x01
    add("payload_end_marker_damaged_checksum_stale", "8.9", refuse("bad-record"), bundle(f3=bytes(raw3)))
    _item_count_cases(add)
    _ledger_head_cases(add)
    return cs


def _padded(n, extra=(), fn=None):
    """The release manifest (81 data items) with an unknown key `x` holding an array of n
    zeros: 83 + n items; then the (key, value) pairs of extra; fn may change it further."""
    m = release_manifest(base_files())
    m.pairs.append(("x", [0] * n))
    m.pairs.extend(extra)
    if fn:
        fn(m)
    return m


def _item_count_cases(add):
    """Section 3 "CBOR data items in M" and 8.5.1, with pci_small_limits.toml
    (max_manifest_bytes 1024, so at most 1024 / 8 = 128 items)."""
    small = "pci_small_limits.toml"
    add("items_at_limit_128", "3, 8.5.1", ACCEPT, bundle(manifest=_padded(45)), policy=small)
    add("items_over_limit_129", "3, 8.5.1", refuse("limit-exceeded"), bundle(manifest=_padded(46)), policy=small)
    # Map keys and values are items each: 22 unknown pairs = 45 items, 23 = 47.
    add("items_map_pairs_at_limit", "3, 8.5.1", ACCEPT,
        bundle(manifest=release_manifest(base_files()).set("x", Pairs([("k%d" % i, 0) for i in range(22)]))), policy=small)
    add("items_map_pairs_over_limit", "3, 8.5.1", refuse("limit-exceeded"),
        bundle(manifest=release_manifest(base_files()).set("x", Pairs([("k%d" % i, 0) for i in range(23)]))), policy=small)
    # "a profile failure anywhere wins over the count": failures after the 129th item.
    add("items_over_limit_then_float", "8.5.1", refuse("manifest-invalid"),
        bundle(manifest=_padded(46, [("y", Raw(b"\xf9\x00\x00"))])), policy=small)
    add("items_over_limit_then_duplicate_key", "8.5.1", refuse("manifest-invalid"),
        bundle(manifest=_padded(46, [("x", 0)])), policy=small)
    add("items_over_limit_then_tag", "8.5.1", refuse("manifest-invalid"),
        bundle(manifest=_padded(46, [("y", Raw(b"\xc1\x00"))])), policy=small)
    add("items_over_limit_then_non_shortest", "8.5.1", refuse("manifest-invalid"),
        bundle(manifest=_padded(46, [("y", Raw(b"\x18\x01"))])), policy=small)
    add("items_over_limit_then_too_deep", "8.5.1", refuse("manifest-invalid"),
        bundle(manifest=_padded(46, [("y", _nested(40))])), policy=small)
    # The count is 8.5.1: before the format (8.5.3), the paths (8.5.4) and the schema (8.5.5).
    add("items_over_limit_format_2", "8.5.1, 8.5.3", refuse("limit-exceeded"),
        bundle(manifest=_padded(46, fn=lambda m: m.set("format", 2))), policy=small)
    add("items_over_limit_bad_path", "8.5.1, 8.5.4", refuse("limit-exceeded"),
        bundle(manifest=_padded(46, fn=lambda m: m.get("entries")[0].set("path", "../x"))), policy=small)
    add("items_over_limit_missing_created", "8.5.1, 8.5.5", refuse("limit-exceeded"),
        bundle(manifest=_padded(48, fn=lambda m: m.drop("created"))), policy=small)  # 129 items


def _ledger_head_cases(add):
    """5.4 `result.ledger_head` (merged spec): a map with `entries: uint`, `hash: digest`."""
    rf = result_files()

    def res(lh):
        return bundle(files=rf, manifest=_with_result(rf, lambda r: r.pairs.append(("ledger_head", lh))),
                      keys=(RESULT_PCI,))

    def case(name, expect, lh):
        add("ledger_head_" + name, "5.4, 8.5.5", expect, res(lh), policy="dev.toml")

    case("valid", ACCEPT, Pairs([("entries", 7), ("hash", bytes(range(32)))]))
    case("zero_entries_unknown_key", ACCEPT, Pairs([("entries", 0), ("hash", bytes(32)), ("note", Raw(b"\xf6"))]))
    case("entries_u64_max", ACCEPT, Pairs([("entries", 2**64 - 1), ("hash", bytes(32))]))
    case("keys_reversed", ACCEPT, Pairs([("hash", bytes(32)), ("entries", 1)]))
    case("hash_31_bytes", refuse("manifest-invalid"), Pairs([("entries", 7), ("hash", bytes(31))]))
    case("hash_33_bytes", refuse("manifest-invalid"), Pairs([("entries", 7), ("hash", bytes(33))]))
    case("hash_text", refuse("manifest-invalid"), Pairs([("entries", 7), ("hash", "00" * 32)]))
    case("entries_negative", refuse("manifest-invalid"), Pairs([("entries", -1), ("hash", bytes(32))]))
    case("entries_text", refuse("manifest-invalid"), Pairs([("entries", "7"), ("hash", bytes(32))]))
    case("missing_entries", refuse("manifest-invalid"), Pairs([("hash", bytes(32))]))
    case("missing_hash", refuse("manifest-invalid"), Pairs([("entries", 7)]))
    case("null", refuse("manifest-invalid"), Raw(b"\xf6"))
    case("null_hash", refuse("manifest-invalid"), Pairs([("entries", 7), ("hash", Raw(b"\xf6"))]))
    case("array", refuse("manifest-invalid"), [7, bytes(32)])


def _with_release(files, fn):
    m = release_manifest(files)
    fn(m.get("release"))
    return m


def _with_result(files, fn):
    m = result_manifest(files)
    fn(m.get("result"))
    return m


def _with_wd(wd):
    recs = [record(p, d) for p, d, _ in base_files()]
    f3 = bytearray(frame_stream(b"".join(recs) + b"\0" * 1024))
    assert f3[4] == 0x04
    f3[5] = wd
    return bytes(f3)


def _with_entry0(files, fn):
    m = release_manifest(files)
    fn(m.get("entries")[0])
    return m


def _bad_path_missing_created(files):
    m = release_manifest(files).drop("created")
    m.get("entries")[0].set("path", "../x")
    return m


def _s_plus_l(m):
    """A signature by release-a with S + L instead of S (6.2: verifiers refuse S >= L)."""
    sig = RELEASE_A.sign(m)
    L = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(sig[32:], "little") + L
    if s >= 1 << 256:
        s -= L
    bad = sig[:32] + s.to_bytes(32, "little")
    return enc(Pairs([("format", 1), ("signatures", [Pairs([("key_id", RELEASE_A.id), ("signature", bad)])])]))


def random_manifest_cases(n, seed=11):
    """n bundles whose manifest bytes are a valid manifest with random damage (bit flips,
    byte sets, deletions, insertions, repeated runs), signed again, so that the damage reaches
    8.5's decoder: a search for parser differentials. Seeded and signed with fixed test keys,
    so every run makes the same files. Returns Cases whose expect is None (agreement only)."""
    import random

    rnd = random.Random(seed)
    rel_files, res_files = base_files(), result_files()
    rel, res = enc(release_manifest(rel_files)), enc(result_manifest(res_files))
    out = []
    for i in range(n):
        is_res = rnd.random() < 0.3
        m = bytearray(res if is_res else rel)
        for _ in range(rnd.choice([1, 1, 1, 2, 3])):
            k, j = rnd.random(), rnd.randrange(len(m))
            if k < 0.4:
                m[j] ^= 1 << rnd.randrange(8)
            elif k < 0.6:
                m[j] = rnd.randrange(256)
            elif k < 0.75:
                del m[j]
            elif k < 0.9:
                m.insert(j, rnd.randrange(256))
            else:
                a = rnd.randrange(len(m))
                m[j:j] = m[a : a + rnd.randrange(1, 12)]
        data = bundle(m_bytes=bytes(m), files=res_files if is_res else rel_files,
                      keys=(RESULT_PCI,) if is_res else (RELEASE_A,))
        out.append(Case("random_manifest_%03d" % i, "8.5", None, data, policy="dev.toml" if is_res else "pci.toml"))
    return out


def build_all(out_dir, keys_dir=None, random_manifests=0):
    """Write every case to out_dir; returns the cases with their paths."""
    cases = build_cases() + random_manifest_cases(random_manifests)
    for c in cases:
        c.path = os.path.join(out_dir, c.name + ".zb")
        with open(c.path, "wb") as f:
            f.write(c.data)
    return cases
