"""String similarity kernels over the code-point layout of :mod:`jukimatch.engine.text`.

Every helper here works on *ranges* of a flat ``uint32`` code-point array — string
``cp[a0:a1]`` — so no string is ever copied or sliced in a hot loop. Tokens are runs of
code points other than U+0020 (the normalisers separate tokens by single ASCII spaces;
runs of spaces and edge spaces are tolerated and ignored).

Definitions (each has a plain-Python twin in ``tests/naive/compare.py``):

- **Jaro-Winkler**: Jaro with the match window ``max(|a|, |b|) // 2 - 1`` (at least 0) and
  half the out-of-order matched characters as transpositions (integer halving); Winkler's
  boost ``+ p * 0.1 * (1 - jaro)`` for a common prefix of ``p <= 4`` code points, applied
  only when Jaro exceeds 0.7 — the same as ``rapidfuzz.distance.JaroWinkler.similarity``.
  0.0 when either string is empty.
- **Token-set ratio**: ``rapidfuzz.fuzz.token_set_ratio / 100`` — token *sets*, the sorted
  intersection ``sect`` and sorted differences ``d1``, ``d2``; the best normalised Indel
  similarity among ``sect`` vs ``sect + " " + d1``, ``sect`` vs ``sect + " " + d2`` and
  ``sect + " " + d1`` vs ``sect + " " + d2`` (just ``d1`` vs ``d2`` when ``sect`` is empty);
  1.0 when one set contains the other and they share a token; 0.0 when a side has no token.

Kernels are private, trust their inputs and never write them (read-only views welcome).
Scratch arrays are allocated once per block of pairs by the callers in ``compare``.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from jukimatch.engine.runtime import JIT, JIT_PARALLEL, PAIR_BLOCK

SPACE = 32
#: Winkler's prefix scale and longest rewarded prefix
PREFIX_SCALE = 0.1
MAX_PREFIX = 4


# --- elementary range helpers ----------------------------------------------------------

@nb.njit(**JIT)
def range_equal(ca, a0, a1, cb, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if ca[a0 + k] != cb[b0 + k]:
            return False
    return True


@nb.njit(**JIT)
def range_less(ca, a0, a1, cb, b0, b1):
    """Code-point lexicographic order (Python's ``str`` order)."""
    la = a1 - a0
    lb = b1 - b0
    n = la if la < lb else lb
    for k in range(n):
        x = ca[a0 + k]
        y = cb[b0 + k]
        if x != y:
            return x < y
    return la < lb


@nb.njit(**JIT)
def equal_ignoring_spaces(ca, a0, a1, cb, b0, b1):
    i = a0
    j = b0
    while True:
        while i < a1 and ca[i] == SPACE:
            i += 1
        while j < b1 and cb[j] == SPACE:
            j += 1
        if i >= a1 or j >= b1:
            return i >= a1 and j >= b1
        if ca[i] != cb[j]:
            return False
        i += 1
        j += 1


@nb.njit(**JIT)
def one_substitution_ignoring_spaces(ca, a0, a1, cb, b0, b1):
    """Same length once spaces are removed, and exactly one code point differs."""
    i = a0
    j = b0
    differ = 0
    while True:
        while i < a1 and ca[i] == SPACE:
            i += 1
        while j < b1 and cb[j] == SPACE:
            j += 1
        if i >= a1 or j >= b1:
            return i >= a1 and j >= b1 and differ == 1
        if ca[i] != cb[j]:
            differ += 1
            if differ > 1:
                return False
        i += 1
        j += 1


@nb.njit(**JIT)
def tokenize(cp, s0, s1, starts, ends, masks):
    """Write token ranges of ``cp[s0:s1]`` into ``starts``/``ends`` and each token's
    character-class mask (``char_bit``) into ``masks``; return the number of tokens."""
    n = 0
    i = s0
    while i < s1:
        while i < s1 and cp[i] == SPACE:
            i += 1
        if i >= s1:
            break
        j = i
        mask = np.uint64(0)
        while j < s1 and cp[j] != SPACE:
            mask |= char_bit(cp[j])
            j += 1
        starts[n] = i
        ends[n] = j
        masks[n] = mask
        n += 1
        i = j
    return n


@nb.njit(**JIT)
def char_bit(c):
    """One of 64 character classes (code point mod 64): equal characters share a class, so
    a character whose class is absent from a string's mask cannot occur in that string."""
    return np.uint64(1) << np.uint64(c & 63)


@nb.njit(**JIT)
def absent_count(cp, s0, s1, other_mask):
    """Code points of ``cp[s0:s1]`` whose class is not in ``other_mask`` (never matched)."""
    absent = 0
    for k in range(s0, s1):
        if not (other_mask & char_bit(cp[k])):
            absent += 1
    return absent


# --- Jaro-Winkler --------------------------------------------------------------------

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: strings up to this many code points use the bit-parallel paths (one machine word)
WORD = 64
#: code points below this use the per-character position table; others are scanned
TABLE_SIZE = 128


@nb.njit(**JIT)
def popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@nb.njit(**JIT)
def jaro_winkler_range(ca, a0, a1, cb, b0, b1, table, buf_a, buf_b):
    """Jaro-Winkler of ``ca[a0:a1]`` and ``cb[b0:b1]``.

    ``table`` is a zeroed ``uint64[TABLE_SIZE]`` (left zeroed on return); ``buf_a``,
    ``buf_b`` are ``uint32`` scratch at least as long as either string. The word-sized
    path is branch-free per character: random names mispredict any data-dependent branch.
    """
    la = a1 - a0
    lb = b1 - b0
    if la == 0 or lb == 0:
        return 0.0
    if la > WORD or lb > WORD:
        return jaro_winkler_long(ca, a0, a1, cb, b0, b1, buf_a, buf_b)
    window = (la if la > lb else lb) // 2 - 1
    if window < 0:
        window = 0
    # Greedy Jaro matching, one word per string: character i of a takes the lowest
    # unmatched position of b that holds the same character inside the window.
    for j in range(lb):
        c = cb[b0 + j]
        if c < TABLE_SIZE:
            table[c] |= _ONE << np.uint64(j)
    matched_b = np.uint64(0)
    matched_a = np.uint64(0)
    m = 0
    for i in range(la):
        lo = i - window if i > window else 0
        hi = i + window + 1
        if hi > lb:
            hi = lb
        if lo >= hi:
            break
        width = hi - lo
        win = _ALL if width >= WORD else (_ONE << np.uint64(width)) - _ONE
        c = ca[a0 + i]
        if c < TABLE_SIZE:
            pm = table[c]
        else:
            pm = np.uint64(0)
            for j in range(lo, hi):
                if cb[b0 + j] == c:
                    pm |= _ONE << np.uint64(j)
        cand = pm & (win << np.uint64(lo)) & ~matched_b
        lowest = cand & (~cand + _ONE)  # 0 when there is no candidate
        hit = np.uint64(lowest != 0)
        matched_b |= lowest
        matched_a |= hit << np.uint64(i)
        m += np.int64(hit)
    for j in range(lb):
        c = cb[b0 + j]
        if c < TABLE_SIZE:
            table[c] = np.uint64(0)
    if m == 0:
        return 0.0
    # matched characters of each side in order (compaction), then count disagreements
    w = 0
    for i in range(la):
        buf_a[w] = ca[a0 + i]
        w += np.int64((matched_a >> np.uint64(i)) & _ONE)
    w = 0
    for j in range(lb):
        buf_b[w] = cb[b0 + j]
        w += np.int64((matched_b >> np.uint64(j)) & _ONE)
    out_of_order = 0
    for x in range(m):
        out_of_order += np.int64(buf_a[x] != buf_b[x])
    return winkler(ca, a0, la, cb, b0, lb, m, out_of_order)


@nb.njit(**JIT)
def winkler(ca, a0, la, cb, b0, lb, m, out_of_order):
    mf = float(m)
    sim = (mf / la + mf / lb + (m - out_of_order // 2) / mf) / 3.0
    if sim > 0.7:
        p = 0
        lim = MAX_PREFIX
        if la < lim:
            lim = la
        if lb < lim:
            lim = lb
        while p < lim and ca[a0 + p] == cb[b0 + p]:
            p += 1
        sim += p * PREFIX_SCALE * (1.0 - sim)
    return sim


@nb.njit(**JIT)
def jaro_winkler_long(ca, a0, a1, cb, b0, b1, flag_a, flag_b):
    """The textbook O(|a| * window) Jaro-Winkler, for strings longer than a machine word
    (``flag_a``, ``flag_b``: scratch used as 0/1 flags)."""
    la = a1 - a0
    lb = b1 - b0
    window = (la if la > lb else lb) // 2 - 1
    if window < 0:
        window = 0
    for i in range(la):
        flag_a[i] = 0
    for j in range(lb):
        flag_b[j] = 0
    m = 0
    for i in range(la):
        c = ca[a0 + i]
        lo = i - window if i > window else 0
        hi = i + window + 1
        if hi > lb:
            hi = lb
        for j in range(lo, hi):
            if not flag_b[j] and cb[b0 + j] == c:
                flag_a[i] = 1
                flag_b[j] = 1
                m += 1
                break
    if m == 0:
        return 0.0
    out_of_order = 0
    k = 0
    for i in range(la):
        if flag_a[i]:
            while not flag_b[k]:
                k += 1
            if ca[a0 + i] != cb[b0 + k]:
                out_of_order += 1
            k += 1
    return winkler(ca, a0, la, cb, b0, lb, m, out_of_order)


@nb.njit(**JIT)
def jaro_winkler_bound(la, lb, most_a, most_b):
    """An upper bound of Jaro-Winkler for strings of lengths ``la``, ``lb`` (both > 0) of
    which at most ``most_a``, ``most_b`` characters can match."""
    m = la if la < lb else lb
    if most_a < m:
        m = most_a
    if most_b < m:
        m = most_b
    if m <= 0:
        return 0.0
    jaro = (m / la + m / lb + 1.0) / 3.0
    return jaro + MAX_PREFIX * PREFIX_SCALE * (1.0 - jaro)


#: pairs whose strings are fetched together before they are compared (fits in L2)
GATHER = 512


@nb.njit(**JIT)
def gather(lcp, loff, rcp, roff, li, ri, k0, k1, bounds):
    """Fetch the string bounds of pairs ``k0..k1`` into ``bounds`` (4 rows), then touch each
    string's first and last code point; return a checksum the caller must keep.

    Rows of a million-name column are far apart: one pair costs a few cache and TLB misses.
    Loads in these two loops do not depend on each other, so the CPU overlaps dozens of
    misses; the comparison loop that follows then finds its strings in cache.
    """
    for k in range(k0, k1):
        a = li[k]
        b = ri[k]
        x = k - k0
        bounds[0, x] = loff[a]
        bounds[1, x] = loff[a + 1]
        bounds[2, x] = roff[b]
        bounds[3, x] = roff[b + 1]
    touched = np.uint32(0)
    for x in range(k1 - k0):
        if bounds[1, x] > bounds[0, x]:
            touched ^= lcp[bounds[0, x]] ^ lcp[bounds[1, x] - 1]
        if bounds[3, x] > bounds[2, x]:
            touched ^= rcp[bounds[2, x]] ^ rcp[bounds[3, x] - 1]
    return touched


@nb.njit(**JIT_PARALLEL)
def jaro_winkler_pairs(lcp, loff, rcp, roff, li, ri, max_len):
    n = len(li)
    out = np.empty(n, dtype=np.float32)
    n_blocks = (n + PAIR_BLOCK - 1) // PAIR_BLOCK
    checksums = np.zeros(n_blocks, dtype=np.uint32)
    for blk in nb.prange(n_blocks):
        table = np.zeros(TABLE_SIZE, dtype=np.uint64)
        buf_a = np.empty(max_len + 1, dtype=np.uint32)
        buf_b = np.empty(max_len + 1, dtype=np.uint32)
        bounds = np.empty((4, GATHER), dtype=np.int64)
        stop = min(n, (blk + 1) * PAIR_BLOCK)
        touched = np.uint32(0)
        for k0 in range(blk * PAIR_BLOCK, stop, GATHER):
            k1 = min(stop, k0 + GATHER)
            touched ^= gather(lcp, loff, rcp, roff, li, ri, k0, k1, bounds)
            for k in range(k0, k1):
                x = k - k0
                out[k] = jaro_winkler_range(lcp, bounds[0, x], bounds[1, x], rcp, bounds[2, x], bounds[3, x],
                                       table, buf_a, buf_b)
        checksums[blk] = touched
    return out


# --- token-set ratio -----------------------------------------------------------------

@nb.njit(**JIT)
def sort_tokens(cp, starts, ends, idx, n):
    """Insertion sort of token indices ``idx[:n]`` by token text (n is small)."""
    for x in range(1, n):
        t = idx[x]
        y = x - 1
        while y >= 0 and range_less(cp, starts[t], ends[t], cp, starts[idx[y]], ends[idx[y]]):
            idx[y + 1] = idx[y]
            y -= 1
        idx[y + 1] = t


@nb.njit(**JIT)
def join_tokens(cp, starts, ends, idx, n, buf):
    """Write tokens ``idx[:n]`` joined by single spaces into ``buf``; return the length."""
    w = 0
    for x in range(n):
        if x:
            buf[w] = SPACE
            w += 1
        t = idx[x]
        for k in range(starts[t], ends[t]):
            buf[w] = cp[k]
            w += 1
    return w


@nb.njit(**JIT)
def lcs_length(a, la, b, lb, table, row):
    """Longest common subsequence of ``a[:la]`` and ``b[:lb]``.

    Bit-parallel (Hyyrö 2004) when ``a`` fits a machine word, using the zeroed position
    ``table``; else dynamic programming over ``row`` (>= lb + 1 slots).
    """
    if la == 0 or lb == 0:
        return 0
    if la <= WORD:
        for i in range(la):
            c = a[i]
            if c < TABLE_SIZE:
                table[c] |= _ONE << np.uint64(i)
        v = _ALL
        for j in range(lb):
            c = b[j]
            if c < TABLE_SIZE:
                pm = table[c]
            else:
                pm = np.uint64(0)
                for i in range(la):
                    if a[i] == c:
                        pm |= _ONE << np.uint64(i)
            u = v & pm
            v = (v + u) | (v - u)
        for i in range(la):
            c = a[i]
            if c < TABLE_SIZE:
                table[c] = np.uint64(0)
        used = _ALL if la == WORD else (_ONE << np.uint64(la)) - _ONE
        return np.int64(popcount(~v & used))
    for j in range(lb + 1):
        row[j] = 0
    for i in range(la):
        c = a[i]
        diag = 0  # row[j] of the previous i, before it was overwritten
        for j in range(lb):
            up = row[j + 1]
            if c == b[j]:
                v = diag + 1
            else:
                v = up if up > row[j] else row[j]
            diag = up
            row[j + 1] = v
    return row[lb]


@nb.njit(**JIT)
def unique_flags(cp, starts, ends, n, first):
    """first[t] = token t is the first occurrence of its text on its side."""
    for t in range(n):
        first[t] = True
        for u in range(t):
            if first[u] and range_equal(cp, starts[t], ends[t], cp, starts[u], ends[u]):
                first[t] = False
                break


@nb.njit(**JIT)
def found_in(ca, sa, ea, first_a, na, cb, sb, eb, nb_, found):
    """found[t] = distinct token t of side a also occurs on side b; return how many."""
    count = 0
    for t in range(na):
        found[t] = False
        if not first_a[t]:
            continue
        for u in range(nb_):
            if range_equal(ca, sa[t], ea[t], cb, sb[u], eb[u]):
                found[t] = True
                count += 1
                break
    return count


@nb.njit(**JIT)
def token_set_ratio_kernel(ca, sa, ea, ma, na, cb, sb, eb, mb, nb_, cutoff, sc_first_a, sc_first_b, sc_found_a,
                     sc_found_b, sc_idx_a, sc_idx_b, buf_a, buf_b, row, stats, table):
    """Token-set ratio of two tokenised strings (module docstring), or 0.0 below ``cutoff``.

    ``stats`` receives (shared distinct tokens, distinct tokens only on a, only on b), which
    callers use to tell a subset sharing a single token from real agreement.
    """
    unique_flags(ca, sa, ea, na, sc_first_a)
    unique_flags(cb, sb, eb, nb_, sc_first_b)
    shared = found_in(ca, sa, ea, sc_first_a, na, cb, sb, eb, nb_, sc_found_a)
    found_in(cb, sb, eb, sc_first_b, nb_, ca, sa, ea, na, sc_found_b)
    sect_len = 0
    n_ab = 0
    ab_len = 0
    for t in range(na):
        if not sc_first_a[t]:
            continue
        if sc_found_a[t]:
            sect_len += ea[t] - sa[t] + 1
        else:
            sc_idx_a[n_ab] = t
            n_ab += 1
            ab_len += ea[t] - sa[t] + 1
    n_ba = 0
    ba_len = 0
    for t in range(nb_):
        if sc_first_b[t] and not sc_found_b[t]:
            sc_idx_b[n_ba] = t
            n_ba += 1
            ba_len += eb[t] - sb[t] + 1
    mask_ab = np.uint64(0)
    for x in range(n_ab):
        mask_ab |= ma[sc_idx_a[x]]
    mask_ba = np.uint64(0)
    for x in range(n_ba):
        mask_ba |= mb[sc_idx_b[x]]
    stats[0] = shared
    stats[1] = n_ab
    stats[2] = n_ba
    if na == 0 or nb_ == 0:
        return 0.0
    if shared > 0 and (n_ab == 0 or n_ba == 0):
        return 1.0
    # the +1 per token above counted one separator too many per group
    if sect_len:
        sect_len -= 1
    if ab_len:
        ab_len -= 1
    if ba_len:
        ba_len -= 1
    glue = 1 if sect_len else 0
    sect_ab_len = sect_len + glue + ab_len
    sect_ba_len = sect_len + glue + ba_len
    best = 0.0
    if sect_len:
        # sect vs sect + " " + d: only the appended part differs
        r_ab = 1.0 - (glue + ab_len) / (sect_len + sect_ab_len)
        r_ba = 1.0 - (glue + ba_len) / (sect_len + sect_ba_len)
        best = r_ab if r_ab > r_ba else r_ba
    lensum = sect_ab_len + sect_ba_len
    # sect + d1 vs sect + d2: Indel distance is that of d1 vs d2 (common prefix). Bound the
    # LCS first: characters of one difference whose class the other lacks never match.
    short = ab_len if ab_len < ba_len else ba_len
    least_dist = ab_len + ba_len - 2 * short
    if 1.0 - least_dist / lensum > best and 1.0 - least_dist / lensum >= cutoff:
        absent_ab = 0
        for x in range(n_ab):
            absent_ab += absent_count(ca, sa[sc_idx_a[x]], ea[sc_idx_a[x]], mask_ba)
        absent_ba = 0
        for x in range(n_ba):
            absent_ba += absent_count(cb, sb[sc_idx_b[x]], eb[sc_idx_b[x]], mask_ab)
        most_ab = ab_len - absent_ab
        most_ba = ba_len - absent_ba
        short = most_ab if most_ab < most_ba else most_ba
        least_dist = ab_len + ba_len - 2 * short
    if 1.0 - least_dist / lensum > best and 1.0 - least_dist / lensum >= cutoff:
        sort_tokens(ca, sa, ea, sc_idx_a, n_ab)
        sort_tokens(cb, sb, eb, sc_idx_b, n_ba)
        la = join_tokens(ca, sa, ea, sc_idx_a, n_ab, buf_a)
        lb = join_tokens(cb, sb, eb, sc_idx_b, n_ba, buf_b)
        dist = la + lb - 2 * lcs_length(buf_a, la, buf_b, lb, table, row)
        r = 1.0 - dist / lensum
        if r > best:
            best = r
    return best if best >= cutoff else 0.0


@nb.njit(**JIT)
def token_scratch(max_len):
    """Scratch for the token kernels of strings of at most ``max_len`` code points."""
    t = max_len // 2 + 2  # most tokens a string of max_len code points can hold
    return (
        np.empty(t, np.int64), np.empty(t, np.int64),  # token starts/ends, side a
        np.empty(t, np.int64), np.empty(t, np.int64),  # side b
        np.empty(t, np.bool_), np.empty(t, np.bool_),  # first occurrence flags
        np.empty(t, np.bool_), np.empty(t, np.bool_),  # found on the other side
        np.empty(t, np.int64), np.empty(t, np.int64),  # sorted difference indices
        np.empty(t, np.uint64), np.empty(t, np.uint64),  # token character-class masks
        np.empty(max_len + 1, np.uint32), np.empty(max_len + 1, np.uint32),  # joined diffs
        np.empty(max_len + 2, np.int64),  # LCS row
        np.empty(3, np.int64),  # set statistics
        np.zeros(TABLE_SIZE, np.uint64),  # character positions (kept zeroed between uses)
    )


@nb.njit(**JIT_PARALLEL)
def token_set_ratio_pairs(lcp, loff, rcp, roff, li, ri, max_len, cutoff):
    n = len(li)
    out = np.empty(n, dtype=np.float64)
    n_blocks = (n + PAIR_BLOCK - 1) // PAIR_BLOCK
    for blk in nb.prange(n_blocks):
        sa, ea, sb, eb, fa, fb, ga, gb, ia, ib, ma, mb, bufa, bufb, row, stats, table = token_scratch(max_len)
        stop = min(n, (blk + 1) * PAIR_BLOCK)
        for k in range(blk * PAIR_BLOCK, stop):
            a = li[k]
            b = ri[k]
            na = tokenize(lcp, loff[a], loff[a + 1], sa, ea, ma)
            nb_ = tokenize(rcp, roff[b], roff[b + 1], sb, eb, mb)
            out[k] = token_set_ratio_kernel(lcp, sa, ea, ma, na, rcp, sb, eb, mb, nb_, cutoff,
                                      fa, fb, ga, gb, ia, ib, bufa, bufb, row, stats, table)
    return out


# --- tokens of one side matched to distinct tokens of the other ---------------------

@nb.njit(**JIT)
def multiset_common(ca, sa, ea, na, cb, sb, eb, nb_, used_b):
    """Size of the multiset intersection of two token lists (greedy is exact for equality)."""
    for u in range(nb_):
        used_b[u] = False
    common = 0
    for t in range(na):
        for u in range(nb_):
            if not used_b[u] and range_equal(ca, sa[t], ea[t], cb, sb[u], eb[u]):
                used_b[u] = True
                common += 1
                break
    return common


@nb.njit(**JIT)
def tokens_have_jw_partners(cs, ss, es, ms, ns, cl, sl, el, ml, nl, threshold, adj, match_of, visited,
                             stack_i, stack_next, via, table, flag_a, flag_b):
    """True if every token of the short side (``ns <= nl``) can be given its own token of
    the long side with Jaro-Winkler >= ``threshold`` (a perfect bipartite matching of the
    short side, found with Kuhn's augmenting paths; order of tokens is ignored)."""
    for i in range(ns):
        any_partner = False
        for j in range(nl):
            ok = False
            la = es[i] - ss[i]
            lb = el[j] - sl[j]
            if range_equal(cs, ss[i], es[i], cl, sl[j], el[j]):
                ok = True
            elif jaro_winkler_bound(la, lb, la - absent_count(cs, ss[i], es[i], ml[j]),
                                     lb - absent_count(cl, sl[j], el[j], ms[i])) >= threshold - 1e-9:
                ok = jaro_winkler_range(cs, ss[i], es[i], cl, sl[j], el[j], table, flag_a, flag_b) >= threshold
            adj[i * nl + j] = ok
            any_partner = any_partner or ok
        if not any_partner:
            return False
    for j in range(nl):
        match_of[j] = -1
    for root in range(ns):
        for j in range(nl):
            visited[j] = False
        depth = 0
        stack_i[0] = root
        stack_next[0] = 0
        found = False
        while depth >= 0 and not found:
            i = stack_i[depth]
            j = stack_next[depth]
            moved = False
            while j < nl:
                if adj[i * nl + j] and not visited[j]:
                    visited[j] = True
                    stack_next[depth] = j + 1
                    via[depth] = j
                    if match_of[j] < 0:
                        for d in range(depth + 1):
                            match_of[via[d]] = stack_i[d]
                        found = True
                    else:
                        depth += 1
                        stack_i[depth] = match_of[j]
                        stack_next[depth] = 0
                    moved = True
                    break
                j += 1
            if not moved:
                depth -= 1
        if not found:
            return False
    return True
