"""Plain-Python twins of masking: slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations


def naive_mask(text: str) -> str:
    """Token by token: digits (Unicode, %3x, %EF%BC%9x), separators, anything else."""
    toks: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        nine, three, one = text[i:i + 9].upper(), text[i:i + 3].upper(), text[i]
        if nine[:8] == "%EF%BC%9" and len(nine) == 9 and nine[8].isdigit() and nine[8].isascii():
            toks.append(("d", text[i:i + 9]))
            i += 9
        elif nine == "%E3%80%80":
            toks.append(("s", text[i:i + 9]))
            i += 9
        elif three[:2] == "%3" and len(three) == 3 and three[2] in "0123456789":
            toks.append(("d", text[i:i + 3]))
            i += 3
        elif three in ("%20", "%2D"):
            toks.append(("s", text[i:i + 3]))
            i += 3
        else:
            kind = ("d" if one.isdecimal() else
                    "s" if one.isspace() or one in "-+\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff70"
                    else "o")
            toks.append((kind, one))
            i += 1
    # group digits: a run continues across at most three separators
    groups: list[list[int]] = []  # token indexes of the digits of each run
    last_digit, seps = None, 0
    for k, (kind, _) in enumerate(toks):
        if kind == "d":
            if last_digit is not None and seps <= 3:
                groups[-1].append(k)
            else:
                groups.append([k])
            last_digit, seps = k, 0
        elif kind == "s":
            seps += 1
        else:
            last_digit, seps = None, 0
    starred = {k for g in groups if len(g) >= 12 for k in g[:-4]}
    return "".join("*" if k in starred else t for k, (_, t) in enumerate(toks))
