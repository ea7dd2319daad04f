"""zstd frames and ustar records of a bundle, streamed (docs/bundle-format.md, 4.1-4.4).

The file is read unbuffered, in exact amounts, so that the bytes read before a verdict are
what the algorithm needed (section 11, `max_bytes_read`). A frame is decompressed one block
at a time: each block's output is handed on before the next block, or the content checksum,
is read. So a verdict about decompressed content never depends on how the input happens to
be buffered (issue 10, point 11; SPEC-QUESTIONS.md).
"""

import zstandard


class Refusal(Exception):
    """A verdict: refuse with `code` (1.2, section 12)."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BLOCK_MAX = 128 * 1024


def is_skippable(magic):
    """4.2: skippable magics 0x184D2A50..0x184D2A5F, on disk `5? 2A 4D 18`."""
    return len(magic) == 4 and (magic[0] & 0xF0) == 0x50 and magic[1:] == b"\x2a\x4d\x18"


class Source:
    """The bundle file, read unbuffered; counts the bytes read (section 11 max_bytes_read)."""

    def __init__(self, raw):
        self.raw = raw
        self.bytes_read = 0

    def read(self, n):
        """Up to n bytes; fewer only at the end of the file."""
        parts = []
        left = n
        while left > 0:
            chunk = self.raw.read(left)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        data = b"".join(parts)
        self.bytes_read += len(data)
        return data


class Frame:
    """One zstd frame whose header has passed the checks of 4.2; its content is pulled."""

    def __init__(self, src, region, first, max_window_log):
        self.src = src
        self.region = region
        self.done = False  # the last block has been decoded
        self.buf = bytearray()
        self.pos = 0
        header = self._read_header(first, max_window_log)
        # The library's window bound equals the policy's, checked above from the header.
        dctx = zstandard.ZstdDecompressor(max_window_size=1 << max_window_log)
        self.dobj = dctx.decompressobj()
        self._feed(header)

    def _truncated(self):
        return Refusal("truncated", "the file ends inside the %s frame" % self.region)

    def _read_header(self, first, max_window_log):
        # 4.2.1: read the frame's first 4 bytes, or fewer if the file ends. Only these 4
        # bytes are read before they are judged (max_bytes_read, section 11).
        magic = self.src.read(4)
        if not magic:
            if first:
                raise Refusal("not-a-bundle", "the file is empty")
            raise Refusal("truncated", "the file ends where the %s frame should start" % self.region)
        if is_skippable(magic):
            raise Refusal("unexpected-frame", "a skippable frame where the %s frame must start" % self.region)
        if not ZSTD_MAGIC.startswith(magic):
            if first:
                raise Refusal("not-a-bundle", "the file does not start with a zstd frame (%s)" % magic.hex())
            raise Refusal("unexpected-frame", "no zstd frame where the %s frame must start (%s)" % (self.region, magic.hex()))
        if len(magic) < 4:
            raise self._truncated()
        # 4.2.2: the Frame_Header_Descriptor (the file ends: truncated).
        fhd_b = self.src.read(1)
        if not fhd_b:
            raise self._truncated()
        fhd = fhd_b[0]
        # 4.2.2: Reserved_bit 1, or Content_Checksum_Flag 0: unexpected-frame.
        if fhd & 0x08:
            raise Refusal("unexpected-frame", "the %s frame's reserved bit is set" % self.region)
        if not fhd & 0x04:
            raise Refusal("unexpected-frame", "the %s frame has no content checksum" % self.region)
        single = bool(fhd & 0x20)
        did_size = (0, 1, 2, 4)[fhd & 3]
        fcs_flag = fhd >> 6
        fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
        rest_len = (0 if single else 1) + did_size + fcs_size
        rest = self.src.read(rest_len)
        # 4.2.3: the Window_Descriptor, Dictionary_ID and Frame_Content_Size fields the
        # descriptor announces (the file ends: truncated).
        if len(rest) < rest_len:
            raise self._truncated()
        p = 0
        wd = None
        if not single:
            wd = rest[0]
            p = 1
        did = int.from_bytes(rest[p : p + did_size], "little")
        p += did_size
        # 4.2.3: a Dictionary_ID other than 0: unexpected-frame.
        if did != 0:
            raise Refusal("unexpected-frame", "the %s frame names dictionary %d" % (self.region, did))
        fcs = int.from_bytes(rest[p : p + fcs_size], "little")
        if fcs_size == 2:
            fcs += 256
        # 4.2: window size in 64-bit arithmetic (RFC 8878 3.1.1.1.2).
        if single:
            window = fcs
        else:
            exponent, mantissa = wd >> 3, wd & 7
            base = 1 << (10 + exponent)
            window = base + (base // 8) * mantissa
        # 4.2.4, section 3: Window_Size <= 2^max_window_log, else window-too-large.
        if window > (1 << max_window_log):
            raise Refusal(
                "window-too-large",
                "the %s frame needs a window of %d bytes; max_window_log %d allows %d"
                % (self.region, window, max_window_log, 1 << max_window_log),
            )
        self.window = window
        # 4.2.7: Frame_Content_Size, when the header has the field, is checked block by block.
        self.content_size = fcs if fcs_size else None
        self.decoded = 0
        return magic + fhd_b + rest

    def _feed(self, data):
        try:
            out = self.dobj.decompress(data)
        except zstandard.ZstdError as e:
            # 4.2: "a malformed block or a checksum that does not match is corrupt".
            raise Refusal("corrupt", "the %s frame is damaged: %s" % (self.region, e)) from None
        return out

    def _next_block(self):
        # 4.2.5: the 3-byte Block_Header (the file ends: truncated).
        bh = self.src.read(3)
        if len(bh) < 3:
            raise self._truncated()
        v = int.from_bytes(bh, "little")
        last, btype, bsize = v & 1, (v >> 1) & 3, v >> 3
        # 4.2.5: Block_Type 3 (reserved): corrupt.
        if btype == 3:
            raise Refusal("corrupt", "the %s frame has a block of reserved type 3" % self.region)
        # 4.2.5: Block_Size > Block_Maximum_Size = min(Window_Size, 131,072): corrupt, from
        # the header, before the block is read (SPEC-QUESTIONS.md, Q8).
        if bsize > min(self.window, BLOCK_MAX):
            raise Refusal("corrupt", "a block of the %s frame declares %d bytes, above the block maximum" % (self.region, bsize))
        # 4.2.6: the whole block (the file ends: truncated).
        n = 1 if btype == 1 else bsize
        body = self.src.read(n)
        if len(body) < n:
            raise self._truncated()
        # 4.2.7: decode it; it does not decode: corrupt.
        out = self._feed(bh + body)
        if len(out) > BLOCK_MAX:
            raise Refusal("corrupt", "a block of the %s frame inflates beyond 128 KiB" % self.region)
        # 4.2.7: content beyond Frame_Content_Size, or (last block) short of it: corrupt.
        # Judged before the block's bytes reach any content check (4.2.8).
        self.decoded += len(out)
        if self.content_size is not None:
            if self.decoded > self.content_size or (last and self.decoded != self.content_size):
                raise Refusal("corrupt", "the %s frame's content is %s its Frame_Content_Size %d"
                              % (self.region, "beyond" if self.decoded > self.content_size else "short of", self.content_size))
        if last:
            self.done = True
        # 4.2.8: the caller checks these bytes before it asks for the next block.
        return out

    def read(self, n):
        """Up to n bytes of decompressed content; fewer only where the content ends.

        A new block is read only when the bytes already decoded cannot satisfy the request,
        so every check those bytes make possible has been made first (4.2.8)."""
        while len(self.buf) - self.pos < n and not self.done:
            if self.pos:
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += self._next_block()
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += len(out)
        return out

    def finish(self):
        """4.2.9: after the last block has passed 4.2.8, the 4-byte Content_Checksum (the
        file ends: truncated; it does not match: corrupt)."""
        assert self.done and self.pos == len(self.buf)
        ck = self.src.read(4)
        if len(ck) < 4:
            raise self._truncated()
        out = self._feed(ck)
        if out or not self.dobj.eof:
            raise Refusal("corrupt", "the %s frame does not end after its checksum" % self.region)


# ---------------------------------------------------------------- ustar records (4.3)

TYPE_NAMES = {
    0: "old-style file (typeflag NUL)",
    ord("1"): "hard link",
    ord("2"): "symbolic link",
    ord("3"): "character device",
    ord("4"): "block device",
    ord("5"): "directory",
    ord("6"): "FIFO",
    ord("7"): "contiguous file",
    ord("x"): "pax header",
    ord("g"): "pax global header",
    ord("L"): "GNU long name",
    ord("K"): "GNU long link name",
    ord("S"): "GNU sparse file",
}


def parse_octal(field):
    """4.3: up to the first NUL (the whole field if none), spaces (0x20 only) trimmed, then
    1 or more digits 0-7 and nothing else; else None."""
    nul = field.find(b"\0")
    if nul >= 0:
        field = field[:nul]
    field = field.strip(b" ")
    if not field or any(c < 0x30 or c > 0x37 for c in field):
        return None
    return int(field, 8)


def parse_size(field):
    """4.3: base-256 if the first byte is exactly 0x80 (big-endian in bytes 1 to 11, below
    2^63, for any size); 0x81-0xFF is no octal digit, so None; below 0x80: octal."""
    if field[0] == 0x80:
        v = int.from_bytes(field[1:12], "big")
        return v if v < (1 << 63) else None
    return parse_octal(field)


class Header:
    """A ustar header block that passed the checks (2) to (6) of 4.3."""

    def __init__(self, path, size):
        self.path = path
        self.size = size


def check_header(h, where):
    """4.3's header checks (2) to (6), in order: chksum (bad-record), magic and version
    (bad-record), UTF-8 path (bad-record), typeflag (not-regular-file), size (bad-record).
    Check (1), the all-zero block, is the caller's: its meaning depends on the step."""
    stored = parse_octal(h[148:156])
    # 4.3: "the sum, as unsigned bytes, of all 512 header bytes with the 8 chksum bytes
    # counted as spaces".
    computed = sum(h[:148]) + 8 * 0x20 + sum(h[156:])
    if stored is None or stored != computed:
        raise Refusal("bad-record", "%s: header checksum does not match" % where)
    if h[257:263] != b"ustar\0" or h[263:265] != b"00":
        raise Refusal("bad-record", "%s: magic/version is not POSIX ustar" % where)
    # 4.3 Path: "if prefix starts with \0, the path is name (up to its first \0); otherwise
    # it is prefix (up to its first \0) / name".
    name = h[0:100].split(b"\0", 1)[0]
    prefix = h[345:500]
    if prefix[0] == 0:
        raw = name
    else:
        raw = prefix.split(b"\0", 1)[0] + b"/" + name
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("bad-record", "%s: path is not UTF-8" % where) from None
    # 4.3 Typeflag: every value other than '0' is not-regular-file, naming the kind.
    tf = h[156]
    if tf != 0x30:
        kind = TYPE_NAMES.get(tf, "unknown type %r" % bytes([tf]))
        raise Refusal("not-regular-file", "%s: record %r is a %s" % (where, path, kind))
    # 4.3 (6): the size field parses (octal, or base-256 as 0x80 + a value below 2^63).
    size = parse_size(bytes(h[124:136]))
    if size is None:
        raise Refusal("bad-record", "%s: record %r: the size field does not parse: %r" % (where, path, bytes(h[124:136])))
    return Header(path, size)


def padding(size):
    return (-size) % 512
