"""Plain per-string twins of the normalisation kernels: slow, short, obviously correct.

Each returns what the fast column function gives for one value (None for null).
"""
from __future__ import annotations

import re
import unicodedata

# --- shared per-character folding ------------------------------------------------------


def translate(s: str, table, pairs) -> str:
    out = []
    for ch in s:
        c = ord(ch)
        v = int(table[c]) if c < len(table) else c
        if v == 0:
            continue
        if v & 0x80000000:
            out.extend(chr(int(x)) for x in pairs[v & 0x7FFFFFFF] if x)
        else:
            out.append(chr(v))
    return "".join(out)


def squeeze_spaces(s: str) -> str:
    return " ".join(t for t in s.split(" ") if t)


def has_private_use(s: str) -> bool:
    return any(0xE000 <= ord(ch) <= 0xF8FF or ord(ch) >= 0xF0000 for ch in s)


def _none_if_empty(s: str) -> str | None:
    return s or None


# --- names -------------------------------------------------------------------------------

_ALPHA_SPECIAL = {"Ø": "O", "Đ": "D", "Ð": "D", "Ł": "L", "Ħ": "H", "Ŧ": "T", "Ŋ": "N", "Ɖ": "D",
                  "Ƒ": "F", "ı": "I", "ĸ": "K", "Æ": "AE", "Œ": "OE", "ß": "SS", "ẞ": "SS", "Þ": "TH"}


_COMBINING = ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100), (0xFE20, 0xFE30))


def alpha(s: str | None) -> str | None:
    if s is None:
        return None
    out = []
    for ch in unicodedata.normalize("NFKD", s):
        if any(lo <= ord(ch) < hi for lo, hi in _COMBINING):
            continue
        up = ch.upper() if ch not in ("ß", "ı", "ĸ") else ch
        if "A" <= up <= "Z" and len(up) == 1:
            out.append(up)
        elif up in _ALPHA_SPECIAL:
            out.append(_ALPHA_SPECIAL[up])
        else:
            out.append(" ")
    return _none_if_empty(squeeze_spaces("".join(out)))


def kanji(s: str | None, table) -> tuple[str | None, bool]:
    if s is None:
        return None, False
    s = unicodedata.normalize("NFKC", s)
    flag = has_private_use(s)
    s = "".join(" " if ch in "\t\n\r\u00a0\u3000" else ch for ch in s)
    s = "".join(chr(int(table[ord(ch)])) if ord(ch) < len(table) else ch for ch in s)
    return _none_if_empty(squeeze_spaces(s)), flag


# --- kana --------------------------------------------------------------------------------

_UNVOICED = {}
for _c in range(0x30A1, 0x30FB):
    _d = unicodedata.decomposition(chr(_c)).split()
    if len(_d) == 2 and _d[1] in ("3099", "309A"):
        _UNVOICED[chr(_c)] = chr(int(_d[0], 16))
_KANA_FOLD = {
    **_UNVOICED,
    **dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")),
    **dict(zip("ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ", "クシストヌハヒフヘホムラリルレロ")),
    "ヲ": "オ", "ヰ": "イ", "ヱ": "エ", "ヂ": "シ", "ヅ": "ス", "ヴ": "フ",
    "ヷ": "ハ", "ヸ": "ヒ", "ヹ": "ヘ", "ヺ": "ホ",
    **{ch: "" for ch in "ー―‐‑‒–—−-ｰ－〜～~\u3099\u309a゛゜ﾞﾟ"},
    **{ch: " " for ch in " \t\u3000・･·=＝゠,，、.．。"},
}
_VU_NEXT = dict(zip("アイウエオ", "ハヒフヘホ"))


def _kana_char(ch: str) -> str:
    if "\u3041" <= ch <= "\u3096":
        ch = chr(ord(ch) + 0x60)
    if "a" <= ch <= "z":
        return ch.upper()
    return _KANA_FOLD.get(ch, ch)


def kana(s: str | None) -> str | None:
    if s is None:
        return None
    s = unicodedata.normalize("NFKC", s.replace("゛", "\u3099").replace("゜", "\u309a"))
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        i += 1
        if ch in "ヴゔ":
            nxt = _kana_char(s[i]) if i < len(s) else ""
            if nxt in _VU_NEXT:
                out.append(_VU_NEXT[nxt])
                i += 1
            elif nxt in ("ヤ", "ユ", "ヨ"):
                out.append("ヒ")
            else:
                out.append("フ")
        elif ch in "ゝゞヽヾ":
            if out and out[-1] != " ":
                out.append(out[-1])
        else:
            out.extend(_kana_char(ch))
    return _none_if_empty(squeeze_spaces("".join(out)))


# --- dates and sex -------------------------------------------------------------------------

_DATE_CHARS = str.maketrans("０１２３４５６７８９－／．‐‑‒–−", "0123456789-/.-----")


def date(s: str | None) -> tuple[int, int, int, int]:
    """(year, month, day, status) with status 0 null/empty, 1 parsed, 2 unparseable."""
    if s is None or not s.strip(" \u3000\t"):
        return 0, 0, 0, 0
    s = s.strip(" \u3000\t").translate(_DATE_CHARS)
    m = (re.fullmatch(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})", s)
         or re.fullmatch(r"([0-9]{4})(年)([0-9]{1,2})月([0-9]{1,2})日", s))
    if m:
        y, mo, d = int(m.group(1)), int(m.group(3)), int(m.group(4))
    elif re.fullmatch(r"[0-9]{8}", s):
        y, mo, d = int(s[:4]), int(s[4:6]), int(s[6:])
    else:
        return 0, 0, 0, 2
    if y == 0 or mo > 12 or d > 31:
        return 0, 0, 0, 2
    return y, mo, d, 1


def sex(s: str | None) -> tuple[int, bool]:
    if s is None:
        return 0, True
    s = unicodedata.normalize("NFKC", s).strip()
    if s == "":
        return 0, True
    if s in ("0", "1", "2", "9"):
        return int(s), True
    return 0, False


# --- address -----------------------------------------------------------------------------

_KNUM = {**{ch: v for v, ch in enumerate("〇一二三四五六七八九")}, "十": 10, "百": 100, "千": 1000}
_HYPHENS = set("-‐‑‒–—―−⁃﹣－")
_SPACES = set(" \t\u3000\u00a0")


def _numish(s: str, i: int) -> bool:
    return 0 <= i < len(s) and (s[i].isascii() and s[i].isdigit() or s[i] in _KNUM)


def _marker(s: str, i: int) -> int:
    """Length of a block marker at s[i] (丁目 丁 番地の 番地 番 号 の ノ), 0 if none."""
    rest = s[i:]
    if rest.startswith("丁目"):
        return 2
    if rest.startswith("丁"):
        follow = rest[1:2]
        return 1 if follow == "" or follow.isascii() and follow.isdigit() or follow in _KNUM \
            or follow in _HYPHENS or follow in _SPACES or follow == "ー" else 0
    if rest.startswith(("番町", "番丁")):
        return 0
    if rest.startswith("番地の") and _numish(s, i + 3):
        return 3
    if rest.startswith("番地"):
        return 2
    if rest.startswith("番"):
        return 1
    if rest.startswith(("号室", "号棟", "号館")):
        return 0
    if rest.startswith("号"):
        return 1
    if rest[:1] in ("の", "ノ") and _numish(s, i + 1):
        return 1
    return 0


def _kanji_number(run: str) -> str:
    if not any(_KNUM[ch] >= 10 for ch in run):
        return "".join(str(_KNUM[ch]) for ch in run)
    total, pending = 0, None
    for ch in run:
        v = _KNUM[ch]
        if v >= 10:
            total += (1 if pending is None else pending) * v
            pending = None
        else:
            pending = v if pending is None else pending * 10 + v
    return str(total + (pending or 0))


def _hyphen_at(s: str, i: int) -> bool:
    return s[i] in _HYPHENS or (s[i] == "ー" and (_numish(s, i - 1) or _numish(s, i + 1)))


def _canonical(s: str) -> str:
    out = ""
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _SPACES:
            if out and out[-1] not in " -":
                out += " "
            i += 1
        elif _hyphen_at(s, i):
            out = out[:-1] if out.endswith(" ") else out
            out += "-"
            i += 1
        elif ch in _KNUM:
            r = i
            while r < len(s) and s[r] in _KNUM:
                r += 1
            after = s[r:r + 1]
            ends = (r == len(s) or after in _HYPHENS or after in _SPACES or after == "ー"
                    or _marker(s, r) > 0)
            chained = re.search(r"[0-9]-$", out) is not None and s[i - 1] not in _SPACES and ends
            follows = (r < len(s) and (after in "条線" or s[r:r + 2] in ("番町", "番丁")
                                       or ((after in _HYPHENS or after == "ー") and _numish(s, r + 1))
                                       or _marker(s, r) > 0))
            out += _kanji_number(s[i:r]) if r - i <= 12 and (chained or follows) else s[i:r]
            i = r
        else:
            base = out[:-1] if out.endswith(" ") else out
            if base[-1:].isdigit() and base[-1:].isascii() and _marker(s, i):
                out = base + "-"
                i += _marker(s, i)
            elif re.search(r"[0-9]-$", base) and ch in "のノ" and _numish(s, i + 1):
                out = base
                i += 1
            else:
                out += ch
                i += 1
    return out


_PREFS = ("北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|東京都|"
          "神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|京都府|"
          "大阪府|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|"
          "福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県")
_DESIGNATED = ("札幌|仙台|さいたま|千葉|横浜|川崎|相模原|新潟|静岡|浜松|名古屋|京都|大阪|堺|神戸|岡山|"
               "広島|北九州|福岡|熊本")
_IRREGULAR = "東村山市|武蔵村山市|大和郡山市|郡山市|蒲郡市|小郡市|郡上市"
_PREFIX = re.compile(
    rf"(?P<pref>{_PREFS})?(?:(?P<city>{_IRREGULAR}|(?:{_DESIGNATED})市.+?区|.+?郡.+?[町村]|.+?[市区町村])"
    r"(?P<town>(?:[^市区町村].*)?)|(?P<rest>.*))", re.S)


def address(s: str | None) -> tuple[str | None, ...]:
    """(pref, city, town, block, building)."""
    if s is None:
        return (None,) * 5
    buf = _canonical(unicodedata.normalize("NFKC", s)).lstrip(" ")
    marked = buf.startswith("〒")
    if marked:
        buf = buf[1:].lstrip(" ")
    postal = re.match(r"[0-9]{3}-[0-9]{4}(?![0-9])", buf) or (marked and re.match(r"[0-9]{7}(?![0-9])", buf))
    if postal:
        buf = buf[postal.end():]
    p = len(buf)
    for m in re.finditer(r"[0-9]+", buf):
        if not re.match(r"条|線|番町|番丁", buf[m.end():]):
            p = m.start()
            break
    prefix = buf[:p].replace(" ", "").rstrip("-")
    m = _PREFIX.fullmatch(prefix)
    pref, city = m.group("pref") or "", m.group("city") or ""
    town = re.sub("大字|字", "", m.group("town") or m.group("rest") or "")
    b = re.match(r"[0-9]+(?:-[0-9]+){0,2}", buf[p:])
    numbers = b.group(0).split("-") if b else []
    block = "-".join(x.lstrip("0") or "0" for x in numbers)
    rest = buf[p + (b.end() if b else 0):]
    building = rest.replace("号室", "").replace(" ", "").replace("#", "").strip("-")
    return tuple(_none_if_empty(x) for x in (pref, city, town, block, building))
