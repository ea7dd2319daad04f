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
        # Section 3 ("CBOR data items in M"): items as RFC 8949 counts them, every key, every
        # value, every element, each array or map itself. The profile allows no tag and no
        # indefinite-length string, so every item is one call of item().
        self.items = 0

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

    def item(self, depth, build=True):
        """One data item at `depth`. With build=False the item is only checked and counted:
        containers give None and nothing grows with M but the keys of the open maps."""
        mt, ai, n = self._head()
        self.items += 1
        if mt == 0:
            return n
        if mt == 1:
            return -1 - n
        if mt in (2, 3):
            raw = self._take(n)
            if mt == 2:
                return bytes(raw) if build else None
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
                if not build:
                    for _ in range(n):
                        self.item(depth + 1, False)
                    return None
                return [self.item(depth + 1) for _ in range(n)]
            pairs = []
            seen = set()
            for _ in range(n):
                # Keys are decoded even when not building: 5.1.5 and 5.1.6 need them.
                k = self.item(depth + 1, True) if build else self._key(depth + 1)
                # 5.1.5: map keys are text strings, only, at every depth.
                if not isinstance(k, str):
                    raise CborError("map key %r is not a text string (5.1.5)" % (k,))
                v = self.item(depth + 1, build)
                # 5.1.6: no two equal keys in one map, in any map.
                if k in seen:
                    raise CborError("duplicate map key %r (5.1.6)" % k)
                seen.add(k)
                if build:
                    pairs.append((k, v))
            return CMap(pairs) if build else None
        if mt == 6:
            # 5.1.4: no tag.
            raise CborError("tag %d (5.1.4)" % n)
        # 5.1.4: of major type 7, only false, true and null (f4, f5, f6).
        if ai in (20, 21, 22):
            return Simple(ai)
        if ai in (25, 26, 27):
            raise CborError("floating-point value (5.1.4)")
        raise CborError("simple value %d (5.1.4)" % n)

    def _key(self, depth):
        # A key in a check-only walk: a string is decoded (5.1.5 and 5.1.6 need it); any other
        # item is walked check-only (its own failures count like any) and is not a str.
        if self._left() and self.b[self.i] >> 5 in (2, 3):
            return self.item(depth, True)
        self.item(depth, False)
        return _NOT_TEXT


_NOT_TEXT = object()


def decode(data, max_depth):
    """Decode exactly one data item that follows the profile of 5.1 (5.1.1-5.1.8), with
    max_depth as `max_cbor_depth`; raise CborError at the first rule it breaks (all give the
    same code, so their order does not matter)."""
    return _walk(data, max_depth, True)


def count_items(data, max_depth):
    """Check the bytes against the profile of 5.1 like decode(), without building anything,
    and return how many data items they hold (section 3 "CBOR data items in M", 8.5.1).
    One walk judges both: the count is returned only if the whole item passed the profile,
    so "a profile failure anywhere wins over the count". Nothing grows with M but the keys of
    the maps being walked, so a hostile M of millions of one-byte items decodes nothing (15.2)."""
    d = _Decoder(memoryview(data), max_depth)
    _finish(d, data, False)
    return d.items


def _walk(data, max_depth, build):
    return _finish(_Decoder(memoryview(data), max_depth), data, build)


def _finish(d, data, build):
    try:
        v = d.item(0, build)
    except RecursionError:
        raise CborError("nested too deep for this decoder") from None
    if d.i != len(data):
        # 5.1.1: nothing after the one item.
        raise CborError("%d bytes after the data item (5.1.1)" % (len(data) - d.i))
    return v
