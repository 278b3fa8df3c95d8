"""Seeded synthetic field values for the micro benchmarks (vectorised: a million in seconds).

Independent of ``jukimatch.datasets`` so that kernels can be timed while the generator
changes; the values carry the notations the normalisers must fold (case, width, commas,
kana forms, date formats, address notations, kanji variants) at realistic lengths.
"""
from __future__ import annotations

import numpy as np

SURNAMES = ("NGUYEN", "TRAN", "LE", "PHAM", "WANG", "LI", "ZHANG", "LIU", "CHEN", "KIM", "PARK", "LEE",
            "SANTOS", "REYES", "CRUZ", "DELA CRUZ", "GURUNG", "TAMANG", "SHRESTHA", "SILVA", "OLIVEIRA",
            "SETIAWAN", "AUNG", "SMITH", "GARCIA", "MULLER", "ØSTERGAARD", "NÚÑEZ")
GIVEN = ("VAN", "THI", "AN", "BINH", "HUNG", "LAN", "MAI", "WEI", "FANG", "JING", "MIN", "JI HOON", "MARIA",
         "JOSE", "ANA", "LUZ", "RAM", "SITA", "BIKASH", "JOAO", "ADI", "KYAW", "JOHN", "SOPHIE", "JOSÉ", "ÉLODIE")
KANJI_SUR = ("張", "王", "李", "劉", "陳", "楊", "黄", "金", "朴", "崔", "髙橋", "高橋", "山﨑", "山崎", "渡邊",
             "渡辺", "齋藤", "斎藤", "濵田", "浜田", "吉田", "鄭", "呉", "林")
KANJI_GIVEN = ("偉", "芳", "娜", "敏", "静", "麗", "強", "磊", "軍", "洋", "民俊", "智恩", "花子", "太郎",
               "美咲", "翔太", "明", "秀英", "志遠")
KANA_SUR = ("グエン", "チャン", "レ", "ワン", "リ", "チャン", "キム", "パク", "サントス", "グルン", "シルヴァ",
            "ヴォー", "チョウ", "たかはし", "ﾀｶﾊｼ", "ヂャン")
KANA_GIVEN = ("ヴァン", "アン", "ビン", "フン", "ラン", "マイ", "ウェイ", "ファン", "ミン", "マリア", "ホセ",
              "ラーム", "はなこ", "ﾊﾅｺ", "ジョン", "ソフィー")
PREFS = ("東京都", "大阪府", "愛知県", "神奈川県", "埼玉県", "")
CITIES = ("新宿区", "大阪市北区", "名古屋市中区", "横浜市中区", "川口市", "豊島区", "江戸川区")
TOWNS = ("西新宿", "大字上青木", "錦", "山下町", "梅田", "池袋", "字中央")
KANJI_DIGITS = np.array(list("〇一二三四五六七八九"))
WIDE_DIGITS = "０１２３４５６７８９"
# 丁目 numbers as written in kanji: 三, 十二, 二十六
_KANJI_NUMERALS = np.array(
    [("" if v // 10 == 0 else ("十" if v // 10 == 1 else KANJI_DIGITS[v // 10] + "十"))
     + ("" if v % 10 == 0 else KANJI_DIGITS[v % 10]) for v in range(40)], dtype=object)


def _pick(rng: np.random.Generator, values, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]


def _join(*parts) -> np.ndarray:
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + p
    return out


def _wide(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    table = str.maketrans("0123456789-", WIDE_DIGITS + "－")
    out = s.copy()
    out[mask] = [v.translate(table) for v in s[mask]]
    return out


def alpha_names(n: int, seed: int = 18) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sur, g1, g2 = _pick(rng, SURNAMES, n), _pick(rng, GIVEN, n), _pick(rng, GIVEN, n)
    sep = _pick(rng, (" ", " ", " ", ", ", "  "), n)
    three = rng.random(n) < 0.5
    names = np.where(three, _join(sur, sep, g1, _pick(rng, (" ",), n), g2), _join(sur, sep, g1))
    lower = rng.random(n) < 0.1
    names[lower] = [v.title() for v in names[lower]]
    wide = rng.random(n) < 0.03
    names[wide] = [v.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}).replace(" ", "\u3000") for v in names[wide]]
    return names


def kanji_names(n: int, seed: int = 19) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return _join(_pick(rng, KANJI_SUR, n), _pick(rng, (" ", "\u3000", ""), n), _pick(rng, KANJI_GIVEN, n))


def kana_names(n: int, seed: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return _join(_pick(rng, KANA_SUR, n), _pick(rng, (" ", "\u3000", "・"), n), _pick(rng, KANA_GIVEN, n))


def birth_dates(n: int, seed: int = 21) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.integers(1930, 2024, n).astype(str).astype(object)
    m = np.char.zfill(rng.integers(1, 13, n).astype(str), 2).astype(object)
    d = np.char.zfill(rng.integers(1, 32, n).astype(str), 2).astype(object)
    unknown = rng.random(n)
    d[unknown < 0.05] = "00"
    m[unknown < 0.02] = "00"
    fmt = rng.integers(0, 10, n)
    out = _join(y, _pick(rng, ("-",), n), m, _pick(rng, ("-",), n), d)
    slash = fmt == 7
    out[slash] = _join(y[slash], np.full(slash.sum(), "/", dtype=object), m[slash], np.full(slash.sum(), "/", dtype=object), d[slash])
    compact = fmt == 8
    out[compact] = _join(y[compact], m[compact], d[compact])
    nen = fmt == 9
    out[nen] = _join(y[nen], np.full(nen.sum(), "年", dtype=object), m[nen], np.full(nen.sum(), "月", dtype=object),
                     d[nen], np.full(nen.sum(), "日", dtype=object))
    return out


def addresses(n: int, seed: int = 22) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ai = rng.integers(1, 40, n)
    a, b, c = ai.astype(str).astype(object), *(rng.integers(1, 40, n).astype(str).astype(object) for _ in range(2))
    style = rng.integers(0, 4, n)
    nums = _join(a, np.full(n, "-", dtype=object), b, np.full(n, "-", dtype=object), c)
    jp = style == 1
    kanji_a = _KANJI_NUMERALS[ai[jp]]
    nums[jp] = _join(kanji_a, np.full(jp.sum(), "丁目", dtype=object), b[jp], np.full(jp.sum(), "番", dtype=object),
                     c[jp], np.full(jp.sum(), "号", dtype=object))
    nums = _wide(nums, style == 2)
    room = np.where(rng.random(n) < 0.3, _join(np.full(n, " ハイツ", dtype=object), rng.integers(101, 999, n).astype(str)
                                              .astype(object), np.full(n, "号室", dtype=object)), "")
    return _join(_pick(rng, PREFS, n), _pick(rng, CITIES, n), _pick(rng, TOWNS, n), nums, room)


def my_numbers(n: int, seed: int = 23, invalid: float = 0.1) -> np.ndarray:
    """12-digit strings, ``invalid`` of them with a wrong check digit."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, (n, 11))
    w = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
    r = (digits * w).sum(axis=1) % 11
    check = np.where(r <= 1, 0, 11 - r)
    bad = rng.random(n) < invalid
    check[bad] = (check[bad] + rng.integers(1, 10, bad.sum())) % 10
    alld = np.concatenate([digits, check[:, None]], axis=1).astype(np.uint8) + 48
    return alld.view("S12").ravel().astype(str).astype(object)


def residents_table(n: int, seed: int = 24):
    """An all-text residents table (contract columns) of ``n`` rows, as a pyarrow Table."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    cols = {
        "person_id": np.char.add("P", np.char.zfill(np.arange(n).astype(str), 10)).astype(object),
        "resident_class": _pick(rng, ("mid_long_term", "special_permanent", "japanese_relative"), n),
        "name_alpha": alpha_names(n, seed + 1),
        "name_kanji": kanji_names(n, seed + 2),
        "name_kana": kana_names(n, seed + 3),
        "birth_date": birth_dates(n, seed + 4),
        "sex": _pick(rng, ("1", "2", "1", "2", "0"), n),
        "nationality": _pick(rng, ("CHN", "VNM", "KOR", "PHL", "NPL", "BRA"), n),
        "address": addresses(n, seed + 5),
        "card_number": _join(_pick(rng, ("AB", "CD", "EF"), n),
                             np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8).astype(object),
                             _pick(rng, ("GH", "JK"), n)),
        "my_number": my_numbers(n, seed + 6),
    }
    return pa.table({k: pa.array(v.tolist(), pa.string()) for k, v in cols.items()})


def pair_indices(n_left: int, n_right: int, n_pairs: int, seed: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, n_left, n_pairs, dtype=np.int64), rng.integers(0, n_right, n_pairs, dtype=np.int64))
