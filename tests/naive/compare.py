"""Plain-Python twins of the comparison kernels in jukimatch.engine.compare.person and compare._similarity.

One pair at a time, Python strings and ints, no NumPy, no pruning, no cleverness: each
function is the definition written out, so a Hypothesis test can hold the fast kernel to it.
"""
from __future__ import annotations


# --- strings -------------------------------------------------------------------------

def tokens(s: str) -> list[str]:
    """Tokens separated by ASCII spaces (runs of spaces and edge spaces ignored)."""
    return [t for t in s.split(" ") if t]


def jaro(s: str, t: str) -> float:
    if not s or not t:
        return 0.0
    ls, lt = len(s), len(t)
    window = max(max(ls, lt) // 2 - 1, 0)
    s_flag = [False] * ls
    t_flag = [False] * lt
    m = 0
    for i, c in enumerate(s):
        for j in range(max(0, i - window), min(lt, i + window + 1)):
            if not t_flag[j] and t[j] == c:
                s_flag[i] = t_flag[j] = True
                m += 1
                break
    if m == 0:
        return 0.0
    s_matched = [c for c, f in zip(s, s_flag) if f]
    t_matched = [c for c, f in zip(t, t_flag) if f]
    half_transpositions = sum(a != b for a, b in zip(s_matched, t_matched)) // 2
    return (m / ls + m / lt + (m - half_transpositions) / m) / 3


def jaro_winkler(s: str, t: str) -> float:
    """Jaro-Winkler, prefix scale 0.1, prefix up to 4, boost only above Jaro 0.7."""
    j = jaro(s, t)
    if j > 0.7:
        prefix = 0
        for a, b in zip(s[:4], t[:4]):
            if a != b:
                break
            prefix += 1
        j += prefix * 0.1 * (1 - j)
    return j


def lcs(a: str, b: str) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a)):
        for j in range(len(b)):
            if a[i] == b[j]:
                table[i + 1][j + 1] = table[i][j] + 1
            else:
                table[i + 1][j + 1] = max(table[i][j + 1], table[i + 1][j])
    return table[len(a)][len(b)]


def indel_ratio(a: str, b: str) -> float:
    total = len(a) + len(b)
    return 1.0 if total == 0 else 1.0 - (total - 2 * lcs(a, b)) / total


def token_set_ratio(a: str, b: str) -> float:
    """rapidfuzz's fuzz.token_set_ratio / 100, written from its definition."""
    set_a, set_b = set(tokens(a)), set(tokens(b))
    if not set_a or not set_b:
        return 0.0
    inter = set_a & set_b
    if inter and (not set_a - set_b or not set_b - set_a):
        return 1.0
    sect = " ".join(sorted(inter))
    diff_ab = " ".join(sorted(set_a - set_b))
    diff_ba = " ".join(sorted(set_b - set_a))
    if not inter:
        return indel_ratio(diff_ab, diff_ba)
    return max(
        indel_ratio(sect + " " + diff_ab, sect + " " + diff_ba),
        indel_ratio(sect, sect + " " + diff_ab),
        indel_ratio(sect, sect + " " + diff_ba),
    )


def multiset_common(ta: list[str], tb: list[str]) -> int:
    rest = list(tb)
    common = 0
    for t in ta:
        if t in rest:
            rest.remove(t)
            common += 1
    return common


def every_token_has_distinct_partner(short: list[str], long: list[str], threshold: float) -> bool:
    """Some one-to-one assignment gives every token of `short` a partner with JW >= threshold
    (backtracking over the partners of each token in turn)."""
    close = [[jaro_winkler(s, t) >= threshold for t in long] for s in short]

    def place(i: int, taken: frozenset) -> bool:
        if i == len(short):
            return True
        return any(close[i][j] and j not in taken and place(i + 1, taken | {j}) for j in range(len(long)))

    return place(0, frozenset())


def alpha_level(a: str, b: str) -> int:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return -1
    if a == b:
        return 5
    if a.replace(" ", "") == b.replace(" ", "") or sorted(ta) == sorted(tb):
        return 4
    short, long = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if len(short) >= 2:
        if multiset_common(short, long) == len(short):
            return 3
        if every_token_has_distinct_partner(short, long, 0.95):
            return 3
    jw = jaro_winkler(a, b)
    set_a, set_b = set(ta), set(tb)
    inter = set_a & set_b
    single_shared_subset = len(inter) == 1 and (set_a <= set_b or set_b <= set_a)
    if jw >= 0.92 or (token_set_ratio(a, b) >= 0.88 and not single_shared_subset):
        return 2
    if jw >= 0.80:
        return 1
    return 0


def _japanese_level(a: str, b: str, kanji: bool) -> int:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return -1
    if a == b:
        return 4
    sa, sb = a.replace(" ", ""), b.replace(" ", "")
    if sa == sb or sorted(ta) == sorted(tb):
        return 3
    jw = jaro_winkler(a, b)
    if kanji:
        if len(sa) == len(sb) and sum(x != y for x, y in zip(sa, sb)) == 1:
            return 2
    elif jw >= 0.90:
        return 2
    if jw >= 0.80 or set(ta) & set(tb):
        return 1
    return 0


def kanji_level(a: str, b: str) -> int:
    return _japanese_level(a, b, kanji=True)


def kana_level(a: str, b: str) -> int:
    return _japanese_level(a, b, kanji=False)


# --- dates, sex, addresses -----------------------------------------------------------

def _near(a: int, b: int, width: int) -> bool:
    """Off by one, or one digit different when both are written with `width` digits."""
    sa, sb = str(a).zfill(width), str(b).zfill(width)
    one_digit = len(sa) == len(sb) and sum(x != y for x, y in zip(sa, sb)) == 1
    return abs(a - b) == 1 or one_digit


def date_level(left: tuple[int, int, int], right: tuple[int, int, int]) -> int:
    (ly, lm, ld), (ry, rm, rd) = left, right
    if ly == 0 or ry == 0:
        return -1
    parts = [(ly, ry, 4), (lm, rm, 2), (ld, rd, 2)]
    unknown = [a == 0 or b == 0 for a, b, _ in parts]
    differ = [not u and a != b for (a, b, _), u in zip(parts, unknown)]
    if not any(unknown) and not any(differ):
        return 5
    if not any(differ):
        return 4
    if not any(unknown) and ly == ry and lm == rd and ld == rm and lm != ld and lm <= 12 and ld <= 12:
        return 3
    if sum(differ) == 1:
        a, b, width = parts[differ.index(True)]
        if _near(a, b, width):
            return 2
    return 0


def sex_level(a: int, b: int) -> int:
    if a not in (1, 2) or b not in (1, 2):
        return -1
    return 1 if a == b else 0


def address_level(left: tuple[int, ...], right: tuple[int, ...]) -> int:
    """Parts are (pref, city, town, block, building) hashes, 0 = absent."""
    if not any(left) or not any(right):
        return -1
    same = [a != 0 and a == b for a, b in zip(left, right)]
    conflict = [a != 0 and b != 0 and a != b for a, b in zip(left, right)]
    same_pref, same_city, same_town, same_block = same[:4]
    if conflict[0]:  # a city name in another prefecture is another city
        return 0
    if same_city and same_town and same_block:
        return 4
    if same_city and same_town:
        return 3
    if same_city:
        return 2
    if same_pref:
        return 1
    return 0
