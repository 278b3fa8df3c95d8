"""Locust load of the inquiry service: one user class per requester, a compressed business day.

Each of the 19 requesters of ``datasets/data/requesters.tsv`` is one user class
(``Requester01`` .. ``Requester19``), weighted by its yearly volume from the load profiles,
asking with its own requesting body's gateway token. A user posts provision requests
(:mod:`jukimatch.sim.mix`): permitted ones grouped as ``/v1/provisions``, deliberately
forbidden ones (wrong row, wrong kind) as ``/v1/provisions [refusal: row|kind]``. Every
answer's body is checked; a wrong one is marked with ``resp.failure(...)``, an expected
refusal (403 ``not_permitted`` with its provision record) counts as a success.

:class:`BusinessDayShape` plays a business day compressed into the run: the number of
users follows the volume-weighted daily curve of the profiles up to the peak, then the run
stops by itself. ``JUKIMATCH_SHAPE=flat`` holds the peak instead (capacity runs), ``none``
leaves the users to ``-u/-r/-t`` or the web UI.

Environment (``jukimatch simulate load`` sets it; set it yourself for the web UI):
``JUKIMATCH_TOKENS`` tokens.json of a demo store (default ``./tokens.json``),
``JUKIMATCH_SUBJECTS`` subject ids one a line (or ``JUKIMATCH_DB`` to read them from the store),
``JUKIMATCH_SHAPE`` day|flat|none, ``JUKIMATCH_PEAK_USERS`` (20), ``JUKIMATCH_DURATION_S`` (60),
``JUKIMATCH_USER_RATE`` requests/s per user (0: no pause), ``JUKIMATCH_SEED`` (0).

    JUKIMATCH_TOKENS=/tmp/demo/tokens.json JUKIMATCH_DB=/tmp/demo/demo.sqlite \\
        locust -f sim/locustfile.py --host http://127.0.0.1:8000        # web UI
    python sim/locustfile.py                                            # one user, for debugging
"""
from __future__ import annotations

import itertools
import json
import os
from functools import cache
from pathlib import Path

from locust import FastHttpUser, LoadTestShape, constant, constant_throughput, run_single_user, task

from jukimatch.sim.mix import RequestMix, check_response, read_subjects, subjects_from_store
from jukimatch.sim.profiles import business_day_curve, load_profiles, weights

PROFILES = load_profiles()
SHAPE = os.environ.get("JUKIMATCH_SHAPE", "day")
PEAK_USERS = int(os.environ.get("JUKIMATCH_PEAK_USERS", "20"))
DURATION_S = float(os.environ.get("JUKIMATCH_DURATION_S", "60"))
USER_RATE = float(os.environ.get("JUKIMATCH_USER_RATE", "0"))
SEED = int(os.environ.get("JUKIMATCH_SEED", "0"))
_user_seeds = itertools.count(SEED * 1_000_003)


@cache
def _world() -> tuple[dict, list[str]]:
    """Tokens and subjects, read once per process when the first user starts (not at import)."""
    tokens_file = Path(os.environ.get("JUKIMATCH_TOKENS", "tokens.json"))
    if not tokens_file.is_file():
        raise RuntimeError(f"{tokens_file}: no tokens file; set JUKIMATCH_TOKENS to a demo store's tokens.json")
    tokens = json.loads(tokens_file.read_text(encoding="utf-8"))
    if os.environ.get("JUKIMATCH_SUBJECTS"):
        subjects = read_subjects(os.environ["JUKIMATCH_SUBJECTS"])
    elif os.environ.get("JUKIMATCH_DB"):
        subjects = subjects_from_store(os.environ["JUKIMATCH_DB"])
    else:
        raise RuntimeError("set JUKIMATCH_SUBJECTS (subject ids, one a line) or JUKIMATCH_DB (the store)")
    return tokens, subjects


class RequesterUser(FastHttpUser):
    """One requesting body's gateway asking for one office work row (subclassed per requester below)."""

    abstract = True
    host = os.environ.get("JUKIMATCH_HOST", "http://127.0.0.1:8000")
    wait_time = constant_throughput(USER_RATE) if USER_RATE > 0 else constant(0)
    profile = PROFILES[0]

    def on_start(self) -> None:
        tokens, subjects = _world()
        code = self.profile.requester.requester_code
        token = (tokens.get("gateways") or {}).get(code)
        if token is None:
            raise RuntimeError(f"no gateway token for requester {code!r} in the tokens file")
        self.headers = {"Authorization": f"Bearer {token}"}
        # forked Locust processes share the counter: the pid keeps their users' draws apart
        self.mix = RequestMix(self.profile, PROFILES, subjects, seed=next(_user_seeds) * 65537 + os.getpid())

    @task
    def provision(self) -> None:
        planned = self.mix.draw()
        with self.client.post("/v1/provisions", json=planned.body, headers=self.headers, name=planned.name,
                              catch_response=True) as resp:
            outcome, problem = check_response(planned, resp.status_code, resp.text)
            if problem is not None:
                resp.failure(problem)
            else:
                resp.success()  # an expected 403 refusal is a success, not a failure


def _user_class(profile, weight: int) -> type[RequesterUser]:
    req = profile.requester
    name = f"Requester{req.number:02d}"
    doc = f"提供先{req.number}: {req.requester} ({req.requester_code}), row {req.ordinance_row}, {req.office_work}."
    return type(name, (RequesterUser,), {"profile": profile, "weight": weight, "__doc__": doc, "__module__": __name__})


USER_CLASSES = [_user_class(p, w) for p, w in zip(PROFILES, weights(PROFILES))]
globals().update({cls.__name__: cls for cls in USER_CLASSES})


class BusinessDayShape(LoadTestShape):
    """A business day in ``JUKIMATCH_DURATION_S`` seconds: users follow the daily curve up to the peak."""

    abstract = SHAPE == "none"
    curve = business_day_curve(PROFILES)

    def tick(self):
        t = self.get_run_time()
        if t >= DURATION_S:
            return None
        if SHAPE == "flat":
            return PEAK_USERS, max(1.0, PEAK_USERS / 2.0)
        hour = 24.0 * t / DURATION_S
        h0 = int(hour)
        frac = hour - h0
        level = (1 - frac) * self.curve[h0] + frac * self.curve[(h0 + 1) % 24]
        return max(1, round(PEAK_USERS * level)), max(1.0, PEAK_USERS / 2.0)


if __name__ == "__main__":
    run_single_user(USER_CLASSES[1])
