"""Japanese addresses to parts: prefecture, municipality, town, block numbers, building.

No offline address dictionary exists, so this is a rule-based splitter whose aim is
consistency: one address written two ways (漢数字 or digits, 丁目/番地/号 or hyphens, with or
without the prefecture, full or half width, 大字/字 or not) must give the same parts. Both sides
of a comparison go through the same function.

Null semantics: a null or empty address gives null in every part; a part the address does not
have (no prefecture written, no block numbers, no building) is null.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.normalize.fold import UNSTABLE, folded, from_codepoints, replace_rows, unstable_table
from jukimatch.engine.text import (
    Codepoints, as_large_string, hash_range, is_valid_row, string_array, utf8_buffers, utf8_char,
)

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)
# Cities divided into wards (政令指定都市): the municipality runs through the ward.
DESIGNATED_CITIES = (
    "札幌", "仙台", "さいたま", "千葉", "横浜", "川崎", "相模原", "新潟", "静岡", "浜松", "名古屋",
    "京都", "大阪", "堺", "神戸", "岡山", "広島", "北九州", "福岡", "熊本",
)
# Municipalities the general rules below would cut wrongly (a 村/郡 inside the name).
IRREGULAR_CITIES = ("東村山市", "武蔵村山市", "大和郡山市", "郡山市", "蒲郡市", "小郡市", "郡上市")

# classes of the kernel's kind table
_DIGIT, _KNUM, _HYPHEN, _CHOON, _SPACE = 1, 2, 3, 4, 5
_KANJI_DIGITS = "〇一二三四五六七八九"
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_HYPHENS = "-‐‑‒–—―−⁃﹣－"
_MAX_RUN = 12  # longer kanji-numeral runs are left as text
_PARTS = 5  # pref, city, town, block, building


class AddressParts(NamedTuple):
    pref: pa.Array  # large_string; null where the address names no prefecture
    city: pa.Array  # municipality: 市, 市+区 (designated), 郡+町/村, 区 (Tokyo), 町/村
    town: pa.Array  # 町域 without 大字/字
    block: pa.Array  # 丁目-番-号 as digits joined by "-", at most three numbers
    building: pa.Array  # what follows the block: building and room (spaces, #, 号室 dropped)


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    kind = np.zeros(0x10000, dtype=np.uint8)
    value = np.zeros(0x10000, dtype=np.int32)
    kind[ord("0"): ord("9") + 1] = _DIGIT
    for v, ch in enumerate(_KANJI_DIGITS):
        kind[ord(ch)] = _KNUM
        value[ord(ch)] = v
    for ch, v in _KANJI_UNITS.items():
        kind[ord(ch)] = _KNUM
        value[ord(ch)] = v
    for ch in _HYPHENS:
        kind[ord(ch)] = _HYPHEN
    kind[0x30FC] = _CHOON  # ー, and ｰ after NFKC
    for c in (0x20, 0x09, 0x3000, 0xA0):
        kind[c] = _SPACE
    kind.setflags(write=False)
    value.setflags(write=False)
    return kind, value


@nb.njit(cache=True, nogil=True)
def _kind(cp, j, end, kind):
    if j >= end or j < 0:
        return 0
    c = cp[j]
    return kind[c] if c < len(kind) else 0


@nb.njit(cache=True, nogil=True)
def _numish(cp, j, end, kind):
    t = _kind(cp, j, end, kind)
    return t == 1 or t == 2


@nb.njit(cache=True, nogil=True)
def _marker(cp, j, end, kind):
    """Length of a block marker at j (丁目 丁 番地の 番地 番 号 の/ノ+number), 0 if none."""
    c = cp[j]
    nxt = cp[j + 1] if j + 1 < end else 0
    if c == 0x4E01:  # 丁
        if nxt == 0x76EE:  # 目
            return 2
        t = _kind(cp, j + 1, end, kind)
        return 1 if (j + 1 == end or t != 0) else 0
    if c == 0x756A:  # 番
        if nxt == 0x753A or nxt == 0x4E01:  # 番町, 番丁 are town names
            return 0
        if nxt == 0x5730:  # 地
            if j + 2 < end and cp[j + 2] == 0x306E and _numish(cp, j + 3, end, kind):
                return 3
            return 2
        return 1
    if c == 0x53F7:  # 号
        if nxt == 0x5BA4 or nxt == 0x68DF or nxt == 0x9928:  # 号室 号棟 号館: a building
            return 0
        return 1
    if (c == 0x306E or c == 0x30CE) and _numish(cp, j + 1, end, kind):  # の ノ between numbers
        return 1
    return 0


@nb.njit(cache=True, nogil=True)
def _number_follows(cp, r, end, kind):
    """Whether a kanji-numeral run ending at r is a number (a marker or 条/線 follows)."""
    if r >= end:
        return False
    c = cp[r]
    if c == 0x6761 or c == 0x7DDA:  # 条 線 (Hokkaido grid names)
        return True
    if c == 0x756A and r + 1 < end and (cp[r + 1] == 0x753A or cp[r + 1] == 0x4E01):
        return True  # 一番町, 二番丁: town names written with the number as digits too
    t = _kind(cp, r, end, kind)
    if t == 3 or t == 4:
        return _numish(cp, r + 1, end, kind)
    return _marker(cp, r, end, kind) > 0


@nb.njit(cache=True, nogil=True)
def _run_ends_number(cp, r, end, kind):
    """Whether what follows a run continuing a hyphenated number lets it be the last number."""
    t = _kind(cp, r, end, kind)
    return r >= end or t == 3 or t == 4 or t == 5 or _marker(cp, r, end, kind) > 0


@nb.njit(cache=True, nogil=True)
def _town_number(buf, q, n):
    """Whether the digits ending at q belong to the town name: N条, N線, N番町, N番丁."""
    if q >= n:
        return False
    c = buf[q]
    if c == 0x6761 or c == 0x7DDA:
        return True
    return c == 0x756A and q + 1 < n and (buf[q + 1] == 0x753A or buf[q + 1] == 0x4E01)


@nb.njit(cache=True, nogil=True)
def _emit_number(cp, j, r, value, buf, n):
    positional = True
    for k in range(j, r):
        if value[cp[k]] >= 10:
            positional = False
    if positional:
        for k in range(j, r):
            buf[n] = 48 + value[cp[k]]
            n += 1
        return n
    total = 0
    pending = -1
    for k in range(j, r):
        v = value[cp[k]]
        if v >= 10:
            total += (pending if pending >= 0 else 1) * v
            pending = -1
        else:
            pending = v if pending < 0 else pending * 10 + v
    if pending >= 0:
        total += pending
    digits = 1
    while total >= 10 ** digits:
        digits += 1
    for k in range(digits):
        buf[n + digits - 1 - k] = 48 + (total // 10 ** k) % 10
    return n + digits


@nb.njit(cache=True, nogil=True)
def _canonical(cp, a, b, kind, value, buf):
    """Pass 1: hyphens, kanji numerals in numbers, block markers -> "-"; single spaces."""
    n = 0
    j = a
    while j < b:
        c = cp[j]
        t = _kind(cp, j, b, kind)
        if t == 5:
            if n > 0 and buf[n - 1] != 32 and buf[n - 1] != 45:
                buf[n] = 32
                n += 1
            j += 1
            continue
        if t == 3 or (t == 4 and ((j > a and _numish(cp, j - 1, b, kind)) or _numish(cp, j + 1, b, kind))):
            if n > 0 and buf[n - 1] == 32:
                n -= 1
            buf[n] = 45
            n += 1
            j += 1
            continue
        if t == 2:
            r = j
            while r < b and _kind(cp, r, b, kind) == 2:
                r += 1
            chained = (n >= 2 and buf[n - 1] == 45 and 48 <= buf[n - 2] <= 57
                       and _kind(cp, j - 1, b, kind) != 5 and _run_ends_number(cp, r, b, kind))
            if r - j <= _MAX_RUN and (chained or _number_follows(cp, r, b, kind)):
                n = _emit_number(cp, j, r, value, buf, n)
            else:
                for k in range(j, r):
                    buf[n] = cp[k]
                    n += 1
            j = r
            continue
        q = n - 1
        if q >= 0 and buf[q] == 32:
            q -= 1
        if q >= 0 and 48 <= buf[q] <= 57:
            m = _marker(cp, j, b, kind)
            if m > 0:
                n = q + 1
                buf[n] = 45
                n += 1
                j += m
                continue
        if q >= 1 and buf[q] == 45 and 48 <= buf[q - 1] <= 57 and (c == 0x306E or c == 0x30CE) \
                and _numish(cp, j + 1, b, kind):
            n = q + 1
            j += 1
            continue
        buf[n] = c
        n += 1
        j += 1
    return n


# The municipality's helpers are inlined into the splitting pass: a call with the name
# tables as arguments costs a reference count per array each way (13 % of the address
# kernel's time); inlining the character-class helpers too made it slower.
@nb.njit(cache=True, nogil=True, inline="always")
def _isdigit(c):
    return 48 <= c <= 57


@nb.njit(cache=True, nogil=True, inline="always")
def _is_suffix(c):
    return c == 0x5E02 or c == 0x533A or c == 0x753A or c == 0x6751  # 市 区 町 村


@nb.njit(cache=True, nogil=True, inline="always")
def _town_ok(out, x, e):
    """The town after a municipality ending before x must not start with 市区町村."""
    return x == e or not _is_suffix(out[x])


@nb.njit(cache=True, nogil=True, inline="always")
def _first_slot(c, size):
    """Home slot of first character ``c`` in a group's table of ``size`` (a power of two)."""
    return np.int64((np.uint32(c) * np.uint32(2654435761)) >> np.uint32(16)) & (size - 1)


@nb.njit(cache=True, nogil=True, inline="always")
def _name_end(out, s, e, names, noff, first, groups, g):
    """End of the name of group g that out[s:e] starts with, else -1 (names of a group are
    sorted by first character and none is a prefix of another, so at most one matches)."""
    if s >= e:
        return -1
    c = out[s]
    size = first.shape[1] // 2
    slot = _first_slot(c, size)
    while first[g, 2 * slot] != c:  # linear probing; an empty slot (0) ends the search
        if first[g, 2 * slot] == 0:
            return -1
        slot = (slot + 1) & (size - 1)
    w = first[g, 2 * slot + 1]
    while w < groups[g + 1] and names[noff[w]] == c:
        a, b = noff[w], noff[w + 1]
        if b - a <= e - s:
            same = True
            for x in range(1, b - a):
                if out[s + x] != names[a + x]:
                    same = False
                    break
            if same:
                return s + b - a
        w += 1
    return -1


@nb.njit(cache=True, nogil=True, inline="always")
def _city_end(out, s, e, names, noff, first, groups):
    """End of the municipality in out[s:e] (s if none): the rules of normalize_address, in order."""
    x = _name_end(out, s, e, names, noff, first, groups, 1)  # irregular names
    if x >= 0 and _town_ok(out, x, e):
        return x
    x = _name_end(out, s, e, names, noff, first, groups, 2)  # designated city + ward
    if x >= 0 and x < e and out[x] == 0x5E02:
        for y in range(x + 2, e):
            if out[y] == 0x533A and _town_ok(out, y + 1, e):
                return y + 1
    for i in range(s + 1, e):  # 郡 + 町/村
        if out[i] == 0x90E1:
            for y in range(i + 2, e):
                if (out[y] == 0x753A or out[y] == 0x6751) and _town_ok(out, y + 1, e):
                    return y + 1
    for y in range(s + 1, e):  # …市 …区 …町 …村
        if _is_suffix(out[y]) and _town_ok(out, y + 1, e):
            return y + 1
    return s


@nb.njit(cache=True, nogil=True)
def _split(buf, n, out, k, bounds, names, noff, first, groups):
    """Pass 2: write pref, city, town, block, building of buf[:n] at out[k:]; bounds get ends."""
    s = 0
    while s < n and buf[s] == 32:
        s += 1
    marked = s < n and buf[s] == 0x3012  # 〒
    if marked:
        s += 1
        while s < n and buf[s] == 32:
            s += 1
    if s + 8 <= n and buf[s + 3] == 45 and (s + 8 == n or not _isdigit(buf[s + 8])):
        ok = True
        for x in range(8):
            if x != 3 and not _isdigit(buf[s + x]):
                ok = False
        if ok:
            s += 8
    elif marked and s + 7 <= n and (s + 7 == n or not _isdigit(buf[s + 7])):
        ok = True
        for x in range(7):
            if not _isdigit(buf[s + x]):
                ok = False
        if ok:
            s += 7
    # block start: the first digit run not part of a town name (N条, N線, N番町)
    p = n
    i = s
    while i < n:
        if _isdigit(buf[i]):
            q = i
            while q < n and _isdigit(buf[q]):
                q += 1
            if _town_number(buf, q, n):
                i = q
                continue
            p = i
            break
        i += 1
    # before the block, spaces dropped and a trailing "-" too: pref, city, town
    start = k
    for x in range(s, p):
        if buf[x] != 32:
            out[k] = buf[x]
            k += 1
    while k > start and out[k - 1] == 45:
        k -= 1
    pref = max(start, _name_end(out, start, k, names, noff, first, groups, 0))
    bounds[0] = pref
    city = _city_end(out, pref, k, names, noff, first, groups)
    bounds[1] = city
    m = city
    for x in range(city, k):  # 大字 and 字 dropped from the town
        c = out[x]
        if c == 0x5B57 or (c == 0x5927 and x + 1 < k and out[x + 1] == 0x5B57):
            continue
        out[m] = c
        m += 1
    k = m
    bounds[2] = k
    # block: up to three numbers joined by "-", leading zeros dropped
    q = p
    count = 0
    while q < n and _isdigit(buf[q]) and count < 3:
        if count > 0:
            out[k] = 45
            k += 1
        while q + 1 < n and buf[q] == 48 and _isdigit(buf[q + 1]):
            q += 1
        while q < n and _isdigit(buf[q]):
            out[k] = buf[q]
            k += 1
            q += 1
        count += 1
        if q + 1 < n and buf[q] == 45 and _isdigit(buf[q + 1]) and count < 3:
            q += 1
    bounds[3] = k
    # building: the rest, without spaces, "#", 号室, and "-" at either end
    start = k
    x = q
    while x < n:
        c = buf[x]
        if c == 0x53F7 and x + 1 < n and buf[x + 1] == 0x5BA4:  # 号室
            x += 2
            continue
        if c != 32 and c != 35 and not (c == 45 and k == start):
            out[k] = c
            k += 1
        x += 1
    while k > start and out[k - 1] == 45:
        k -= 1
    bounds[4] = k
    return k


@nb.njit(cache=True, nogil=True)
def _address_rows(boff, data, bits, bit_offset, has_nulls, unstable, fold, keep, kind, value, names, noff, first,
                  groups):
    """Per address, straight from Arrow's UTF-8, the hashes of its five parts; with ``keep``
    the parts themselves too, as 5n consecutive strings of one layout (row-major).

    One row at a time through buffers that stay in cache: decoded (with ``fold``, folded as
    :func:`~jukimatch.engine.normalize.fold.normalized_codepoints` does; without, the text is
    NFKC already), then the two passes (:func:`_canonical`, :func:`_split`). A row holding a
    code point only the full NFKC may change is left empty and flagged: (hashes, flagged,
    code points, offsets)."""
    n = len(boff) - 1
    out = np.zeros((_PARTS, n), dtype=np.uint64)
    full = np.zeros(n, dtype=np.bool_)
    longest = 1
    for i in range(n):
        longest = max(longest, boff[i + 1] - boff[i])  # bytes: never fewer than code points
    raw = np.empty(longest, dtype=np.uint32)
    buf = np.empty(4 * longest + 8, dtype=np.uint32)
    # the parts never outgrow the canonical text, which grows only where a kanji numeral
    # (three bytes) becomes up to four digits: twice the bytes hold every row's parts
    row = np.empty(4 * longest + 8, dtype=np.uint32)
    parts = np.empty(2 * (boff[n] - boff[0]) + 8 if keep else 0, dtype=np.uint32)
    off = np.zeros(_PARTS * n + 1 if keep else 1, dtype=np.int64)
    bounds = np.zeros(_PARTS, dtype=np.int64)
    at = 0
    for i in range(n):
        m = 0
        if is_valid_row(bits, bit_offset, has_nulls, i):
            k = boff[i]
            while k < boff[i + 1]:
                c, k = utf8_char(data, k)
                if fold:
                    c = folded(c, unstable, True)
                    if c == UNSTABLE:
                        full[i] = True
                        m = 0
                        break
                raw[m] = c
                m += 1
        bounds[:] = 0
        if m > 0:
            _split(buf, _canonical(raw, 0, m, kind, value, buf), row, 0, bounds, names, noff, first, groups)
        a = 0
        for w in range(_PARTS):
            out[w, i] = hash_range(row, a, bounds[w])
            if keep:
                for x in range(a, bounds[w]):  # a loop: a slice copy compiles its shape check (2 s)
                    parts[at] = row[x]
                    at += 1
                off[_PARTS * i + w + 1] = at
            a = bounds[w]
    return out, full, parts[:at].copy(), off


@nb.njit(cache=True, nogil=True)
def _unzip(cp, off, parts):
    """Strings laid out row-major (row 0's parts, row 1's parts, ...) to part-major: all
    part-0 strings, then all part-1 strings, ...; part w of row i is at offsets[w, i:i+2]."""
    n = (len(off) - 1) // parts
    out = np.empty(len(cp), dtype=np.uint32)
    offsets = np.empty((parts, n + 1), dtype=np.int64)
    k = 0
    for w in range(parts):
        offsets[w, 0] = k
        for i in range(n):
            a, b = off[parts * i + w], off[parts * i + w + 1]
            out[k: k + b - a] = cp[a:b]
            k += b - a
            offsets[w, i + 1] = k
    return out, offsets


@functools.cache
def _names() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prefectures, irregular cities and designated cities as one flat code-point list, each
    group sorted by first character, with a first-character index per group."""
    groups = [sorted(g, key=lambda w: w[0]) for g in (PREFECTURES, IRREGULAR_CITIES, DESIGNATED_CITIES)]
    for g in groups:
        if any(a != b and b.startswith(a) for a in g for b in g):
            raise RuntimeError("a name table holds a name that begins another")
    words = [w for g in groups for w in g]
    names = np.array([ord(c) for w in words for c in w], dtype=np.uint32)
    noff = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=noff[1:])
    bounds = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    # per group an open-addressing table of first characters -> their first word, as
    # (character, word) pairs: a few KiB that stay in L1, where a table indexed by code
    # point (64Ki entries a group) missed the caches on every address
    size = 256
    first = np.zeros((len(groups), 2 * size), dtype=np.int32)
    for g in range(len(groups)):
        starts = {}
        for w in range(bounds[g + 1] - 1, bounds[g] - 1, -1):
            starts[ord(words[w][0])] = w
        if len(starts) > size // 2:
            raise RuntimeError("a name table has too many first characters for its lookup")
        for c, w in starts.items():
            slot = ((c * 2654435761) & 0xFFFFFFFF) >> 16 & (size - 1)  # _first_slot's
            while first[g, 2 * slot] != 0:
                slot = (slot + 1) & (size - 1)
            first[g, 2 * slot], first[g, 2 * slot + 1] = c, w
    for a in (names, noff, first, bounds):
        a.setflags(write=False)
    return names, noff, first, bounds


def _address_rows_of(values, keep: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_address_rows` of a string column, the rows NFKC must rewrite after Arrow's
    normaliser: (hashes, code points, offsets)."""
    strings = string_array(values)
    kind, value = _tables()
    args = (kind, value, *_names())
    out, full, cp, off = _address_rows(*utf8_buffers(strings), unstable_table("NFKC"), True, keep, *args)
    rows = np.flatnonzero(full)
    if len(rows):
        fixed = pc.utf8_normalize(as_large_string(strings.take(pa.array(rows))), "NFKC")
        sub, _none, sub_cp, sub_off = _address_rows(*utf8_buffers(fixed), unstable_table("NFKC"), False, keep, *args)
        out[:, rows] = sub
        if keep:  # each row is five strings of the layout
            strings_of = (rows[:, None] * _PARTS + np.arange(_PARTS)).ravel()
            cp, off = replace_rows(cp, off, strings_of, sub_cp, sub_off)
    return out, cp, off


def address_parts(values) -> list[Codepoints]:
    """The five parts (pref, city, town, block, building) of each address, in the kernels' layout."""
    _hashes, cp, off = _address_rows_of(values, keep=True)
    flat, offsets = _unzip(cp, off, _PARTS)
    return [Codepoints(flat[offsets[w, 0]: offsets[w, -1]], offsets[w] - offsets[w, 0])
            for w in range(_PARTS)]


def normalize_address(values: Any) -> AddressParts:
    """Split addresses into parts written one way, whatever notation the source used.

    NFKC (full-width digits and letters to ASCII); hyphen look-alikes (‐ ‑ ‒ – — ― − －, and
    ー/ｰ next to a number) -> "-"; kanji numerals become digits where they are a number — the
    run is followed by 丁目/丁/番/番地/号/条/線, by の or a hyphen and another number, or it
    continues a hyphenated number — and stay text in place names (四谷, 八王子, 九段, 八丁堀);
    丁目/番地/番/号/の after a number -> "-". The block is the first run of up to three
    numbers joined by "-" (leading zeros dropped; "N条", "N線", "N番町" stay in the town); the
    building is everything after it, without spaces, "#" or "号室" (``101号室`` -> ``101``).
    Before the block, spaces dropped: an optional prefecture (one of the 47), a municipality,
    and the town with 大字 and 字 dropped. The municipality is the first of: a name in
    IRREGULAR_CITIES; a designated city through its ward (横浜市中区); …郡 then …町/村; …市,
    …区, …町 or …村 — each taken as short as possible but never leaving a town that starts
    with 市区町村 (so 四日市市, 大町市, 玉村町, not 四日市, 大町, 玉村). A leading postal code
    (〒123-4567) is ignored.
    """
    return AddressParts(*(from_codepoints(p) for p in address_parts(values)))


def address_hashes(values) -> tuple[np.ndarray, ...]:
    """The five parts of :func:`normalize_address` as 64-bit hashes (0 = absent), for comparing.

    Read straight from Arrow's buffers, one address at a time: no code-point column and no
    per-part strings are built.
    """
    return tuple(_address_rows_of(values, keep=False)[0])


__all__ = ["AddressParts", "DESIGNATED_CITIES", "IRREGULAR_CITIES", "PREFECTURES", "normalize_address"]
