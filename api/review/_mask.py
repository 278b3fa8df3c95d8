"""The one place the workbench masks a My Number (last 4 digits visible).

Kept apart so that it can be swapped for the project-wide masking function in one edit.
"""
from __future__ import annotations

from jukimatch.engine.checkdigit import mask_number


def masked(number: str | None) -> str:
    """``********9018`` for a number; empty text for none."""
    return mask_number(number)
