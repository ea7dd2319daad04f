"""Strict CBOR decoder for the second verifier: the profile of docs/bundle-format.md 5.1.

Written from the spec alone. cbor2 is not used for decoding because 5.1 asks for checks that
cbor2 does not make (5.1.1-5.1.8: one well-formed item, definite lengths, shortest heads, no
tags or floats, text keys only, no duplicate keys, UTF-8, a depth limit). The simple values
false, true and null decode to Simple objects, so that Python's True == 1 cannot turn a
boolean into an integer.
"""


class CborError(Exception):
    """The bytes break the profile of 5.1; the caller picks the code."""


class CMap:
    """A decoded CBOR map: its (key, value) pairs in wire order and a lookup by key.

    5.1.5 makes every key a text string, so the lookup covers every key."""

    __slots__ = ("pairs", "text")

    def __init__(self, pairs):
        self.pairs = pairs
        self.text = dict(pairs)

    def get(self, key, default=None):
        return self.text.get(key, default)

    def __contains__(self, key):
        return key in self.text


class Simple:
    """false, true or null (5.1.4 allows only these simple values)."""

    __slots__ = ("n",)
    NAMES = {20: "false", 21: "true", 22: "null"}

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return self.NAMES[self.n]


class _Decoder:
    def __init__(self, data, max_depth):
        self.b = data
        self.i = 0
        self.max_depth = max_depth

    def _left(self):
        return len(self.b) - self.i

    def _take(self, n):
        # 5.1.1: nothing missing. The length is checked against what is left before any
        # slicing: a declared length is never trusted for an allocation (section 3).
        if n > self._left():
            raise CborError("data item runs past the end of the bytes (5.1.1)")
        v = self.b[self.i : self.i + n]
        self.i += n
        return v

    def _head(self):
        ib = self._take(1)[0]
        mt, ai = ib >> 5, ib & 31
        if ai < 24:
            return mt, ai, ai
        if ai < 28:
            w = 1 << (ai - 24)
            n = int.from_bytes(self._take(w), "big")
            # 5.1.3: the shortest head for every integer, length and count (major type 7
            # heads with an argument are floats or simple values, refused by 5.1.4 below).
            if mt != 7 and n < (24 if w == 1 else 1 << (4 * w)):
                raise CborError("integer or length %d not in its shortest head (5.1.3)" % n)
            return mt, ai, n
        if ai == 31:
            # 5.1.2: definite lengths only; additional information 31 never appears.
            raise CborError("indefinite length or break (5.1.2)")
        # 5.1.3: additional information 28 to 30 never appears.
        raise CborError("reserved additional information %d (5.1.3)" % ai)

    def item(self, depth):
        mt, ai, n = self._head()
        if mt == 0:
            return n
        if mt == 1:
            return -1 - n
        if mt in (2, 3):
            raw = self._take(n)
            if mt == 2:
                return bytes(raw)
            try:
                # 5.1.7: every text string is UTF-8, keys and values, known or not.
                return bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                raise CborError("text string is not UTF-8 (5.1.7)") from None
        if mt in (4, 5):
            # 5.1.8: the top-level map is depth 1; arrays and maps count, scalars do not.
            if depth + 1 > self.max_depth:
                raise CborError("nested deeper than max_cbor_depth %d (5.1.8)" % self.max_depth)
            # Every element takes at least one byte: a count above what is left cannot be
            # met (5.1.1), and is refused before a loop of that length.
            if n > self._left():
                raise CborError("count %d runs past the end of the bytes (5.1.1)" % n)
            if mt == 4:
                return [self.item(depth + 1) for _ in range(n)]
            pairs = []
            seen = set()
            for _ in range(n):
                k = self.item(depth + 1)
                # 5.1.5: map keys are text strings, only, at every depth.
                if not isinstance(k, str):
                    raise CborError("map key %r is not a text string (5.1.5)" % (k,))
                v = self.item(depth + 1)
                # 5.1.6: no two equal keys in one map, in any map.
                if k in seen:
                    raise CborError("duplicate map key %r (5.1.6)" % k)
                seen.add(k)
                pairs.append((k, v))
            return CMap(pairs)
        if mt == 6:
            # 5.1.4: no tag.
            raise CborError("tag %d (5.1.4)" % n)
        # 5.1.4: of major type 7, only false, true and null (f4, f5, f6).
        if ai in (20, 21, 22):
            return Simple(ai)
        if ai in (25, 26, 27):
            raise CborError("floating-point value (5.1.4)")
        raise CborError("simple value %d (5.1.4)" % n)


def decode(data, max_depth):
    """Decode exactly one data item that follows the profile of 5.1 (5.1.1-5.1.8), with
    max_depth as `max_cbor_depth`; raise CborError at the first rule it breaks (all give the
    same code, so their order does not matter)."""
    d = _Decoder(memoryview(data), max_depth)
    try:
        v = d.item(0)
    except RecursionError:
        raise CborError("nested too deep for this decoder") from None
    if d.i != len(data):
        # 5.1.1: nothing after the one item.
        raise CborError("%d bytes after the data item (5.1.1)" % (len(data) - d.i))
    return v
