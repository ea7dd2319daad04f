"""Strict CBOR decoder for the second verifier (docs/bundle-format.md, 5.1).

Written from the spec alone. cbor2 is not used for decoding trusted structure because
5.1 asks for checks that cbor2 does not make (duplicate keys in any map, a nesting limit
that counts arrays and maps, refusal of trailing bytes, UTF-8 in every text string). The
decoder keeps enough of the data model to tell a text key from a byte-string key, an
integer from a float or a boolean, which Python's own types would blur (True == 1 == 1.0).
"""

import struct


class CborError(Exception):
    """The bytes are not one acceptable CBOR data item (5.1); the caller picks the code."""


class CMap:
    """A decoded CBOR map: its (key, value) pairs in wire order and a lookup by text key."""

    __slots__ = ("pairs", "text")

    def __init__(self, pairs):
        self.pairs = pairs
        self.text = {k: v for k, v in pairs if isinstance(k, str)}

    def get(self, key, default=None):
        return self.text.get(key, default)

    def __contains__(self, key):
        return key in self.text

    def non_text_keys(self):
        return [k for k, _ in self.pairs if not isinstance(k, str)]


class Simple:
    """A CBOR simple value (false, true, null, undefined, or an unassigned one)."""

    __slots__ = ("n",)
    NAMES = {20: "false", 21: "true", 22: "null", 23: "undefined"}

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return self.NAMES.get(self.n, "simple(%d)" % self.n)


class Float:
    """A CBOR floating-point value; never equal to an integer of the same value."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return "float(%r)" % self.v


def _identity(v):
    """A hashable identity of a data item, for duplicate-key detection (5.1)."""
    if isinstance(v, str):
        return ("t", v)
    if isinstance(v, (bytes, bytearray)):
        return ("b", bytes(v))
    if isinstance(v, int):
        return ("i", v)
    if isinstance(v, Float):
        return ("f", struct.pack(">d", v.v))
    if isinstance(v, Simple):
        return ("s", v.n)
    if isinstance(v, list):
        return ("a", tuple(_identity(x) for x in v))
    if isinstance(v, CMap):
        return ("m", tuple((_identity(k), _identity(x)) for k, x in v.pairs))
    raise CborError("unknown item type")


class _Decoder:
    def __init__(self, data, max_depth):
        self.b = data
        self.i = 0
        self.max_depth = max_depth

    def _take(self, n):
        # Check the length against what is left before slicing: a declared length is never
        # trusted for an allocation (section 3, every size is checked before use).
        if n > len(self.b) - self.i:
            raise CborError("data item runs past the end of the bytes")
        v = self.b[self.i : self.i + n]
        self.i += n
        return v

    def _head(self):
        ib = self._take(1)[0]
        mt, ai = ib >> 5, ib & 31
        if ai < 24:
            return mt, ai, ai
        if ai < 28:
            n = int.from_bytes(self._take(1 << (ai - 24)), "big")
            return mt, ai, n
        if ai == 31:
            return mt, ai, None
        raise CborError("reserved additional information %d" % ai)

    def item(self, depth):
        mt, ai, n = self._head()
        # Tags are accepted and ignored (5.1 MAY; Appendix A.14). Unwrapped in a loop so a
        # chain of tags cannot recurse without bound.
        while mt == 6:
            if n is None:
                raise CborError("indefinite-length tag")
            mt, ai, n = self._head()
        if mt == 0:
            if n is None:
                raise CborError("indefinite-length integer")
            return n
        if mt == 1:
            if n is None:
                raise CborError("indefinite-length integer")
            return -1 - n
        if mt in (2, 3):
            if n is None:
                chunks = []
                while True:
                    cmt, cai, cn = self._head()
                    if cmt == 7 and cai == 31:
                        break
                    if cmt != mt or cn is None:
                        raise CborError("bad chunk in an indefinite-length string")
                    chunks.append(self._string(mt, cn))
                return b"".join(chunks) if mt == 2 else "".join(chunks)
            return self._string(mt, n)
        if mt in (4, 5):
            # 5.1 / section 3 note: nesting depth counts arrays and maps, the top level is 1.
            if depth + 1 > self.max_depth:
                raise CborError("nested deeper than max_cbor_depth (%d)" % self.max_depth)
            if mt == 4:
                out = []
                if n is None:
                    while not self._at_break():
                        out.append(self.item(depth + 1))
                else:
                    for _ in range(n):
                        out.append(self.item(depth + 1))
                return out
            pairs = []
            seen = set()
            count = 0
            while True:
                if n is None:
                    if self._at_break():
                        break
                elif count == n:
                    break
                k = self.item(depth + 1)
                v = self.item(depth + 1)
                ident = _identity(k)
                # 5.1: "a duplicate key in any map" is refused, whatever the map.
                if ident in seen:
                    raise CborError("duplicate map key %r" % (k,))
                seen.add(ident)
                pairs.append((k, v))
                count += 1
            return CMap(pairs)
        # mt == 7
        if ai < 24:
            return Simple(ai)
        if ai == 24:
            if n < 32:
                raise CborError("two-byte simple value below 32")
            return Simple(n)
        if ai == 25:
            return Float(_half(n))
        if ai == 26:
            return Float(struct.unpack(">f", n.to_bytes(4, "big"))[0])
        if ai == 27:
            return Float(struct.unpack(">d", n.to_bytes(8, "big"))[0])
        raise CborError("break outside an indefinite-length item")

    def _string(self, mt, n):
        raw = self._take(n)
        if mt == 2:
            return bytes(raw)
        try:
            # 5.1: "text that is not UTF-8" is refused, in every map and value.
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise CborError("text string is not UTF-8") from None

    def _at_break(self):
        if self.i >= len(self.b):
            raise CborError("indefinite-length item without a break")
        if self.b[self.i] == 0xFF:
            self.i += 1
            return True
        return False


def _half(h):
    exp = (h >> 10) & 0x1F
    mant = h & 0x3FF
    if exp == 0:
        val = mant * 2.0**-24
    elif exp != 31:
        val = (mant + 1024) * 2.0 ** (exp - 25)
    else:
        val = float("inf") if mant == 0 else float("nan")
    return -val if h & 0x8000 else val


def decode(data, max_depth):
    """Decode exactly one data item from data (5.1), or raise CborError.

    Refuses: malformed items, trailing bytes, nesting deeper than max_depth, duplicate map
    keys, text that is not UTF-8. Accepts (5.1 MAY, A.14): non-preferred integer and length
    encodings, indefinite lengths, tags (ignored).
    """
    d = _Decoder(memoryview(data), max_depth)
    try:
        v = d.item(0)
    except RecursionError:
        raise CborError("nested too deep for this decoder") from None
    if d.i != len(data):
        raise CborError("%d trailing bytes after the data item" % (len(data) - d.i))
    return v
