"""Logging that cannot print a My Number in clear.

The service itself only ever logs masked numbers. This filter is the second line: any
possible My Number in a log record — an access-log URL someone typed a number into
(hyphenated, spaced, percent-encoded, full-width), an exception message, a traceback — is
masked to its last 4 digits by :func:`jukimatch.engine.masking.mask` before any handler sees it. It is
attached to the loggers themselves (``uvicorn.error``, ``uvicorn.access``, ``jukimatch.service``),
so every handler, including one a test or an operator adds later, receives masked records.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

from jukimatch.engine.masking import mask

LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "jukimatch.service", "httpx")


class MaskNumbers(logging.Filter):
    """Rewrites a record's message, arguments and traceback with numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Mask string arguments in place first: the record keeps its shape, so formatters that
        # unpack ``args`` (uvicorn's access formatter) still work.
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = str(record.msg)
        masked = mask(message)
        if masked != message:  # a number hidden in a non-text argument: flatten
            record.msg, record.args = masked, None
        if record.exc_info:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def install() -> None:
    """Attach the filter to the service's loggers (idempotent)."""
    for name in LOGGERS:
        lg = logging.getLogger(name)
        if not any(isinstance(f, MaskNumbers) for f in lg.filters):
            lg.addFilter(MaskNumbers())


def uvicorn_log_config(level: str = "info", access_log: bool = True) -> dict[str, Any]:
    """A uvicorn ``log_config`` whose loggers carry the mask filter."""
    filt = {"mask": {"()": MaskNumbers}}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filt,
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr",
                        "filters": ["mask"]},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False, "filters": ["mask"]},
            "uvicorn.error": {"level": level.upper(), "filters": ["mask"]},
            "uvicorn.access": {"handlers": ["default"] if access_log else [], "level": level.upper(),
                               "propagate": False, "filters": ["mask"]},
            "jukimatch.service": {"handlers": ["default"], "level": level.upper(), "propagate": False,
                                  "filters": ["mask"]},
        },
    }
