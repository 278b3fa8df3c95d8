"""``jukimatch simulate calibrate``: measure the real service's service times, once, into a file.

The planner needs the time one server spends on one request. The calibration run sends
the load mix (:mod:`jukimatch.sim.mix`: every requester by weight, deliberate refusals
included) one request at a time over a keep-alive loopback connection, so no request ever
waits for another: each latency is a service time (plus the loopback round trip, which
makes it slightly pessimistic). It then measures the saturation throughput with a few
concurrent connections for context. The file (JSON) keeps the samples per outcome, the
machine and the date, and is reused by every ``simulate plan`` until recalibrated.
"""
from __future__ import annotations

import http.client
import json
import os
import platform
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import numpy as np

from .mix import RequestMix, check_response
from .profiles import load_profiles
from .service import LocalService, Target

FORMAT = "jukimatch-calibration/1"


@dataclass
class Calibration:
    """Service-time samples in seconds per outcome (provided, held, refused) and what was measured."""

    samples_s: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def pooled(self) -> np.ndarray:
        """All samples in one array, in the proportions the mix produced them."""
        parts = [v for v in self.samples_s.values() if len(v)]
        if not parts:
            raise ValueError("the calibration holds no samples")
        return np.concatenate(parts)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` service times drawn from the empirical distribution."""
        return rng.choice(self.pooled(), size=n, replace=True)

    def summary(self) -> dict[str, Any]:
        out = {}
        for k, v in {**self.samples_s, "all": self.pooled()}.items():
            if len(v):
                out[k] = {"n": int(len(v)), "mean_ms": round(float(v.mean()) * 1e3, 4),
                          "p50_ms": round(float(np.quantile(v, 0.5)) * 1e3, 4),
                          "p99_ms": round(float(np.quantile(v, 0.99)) * 1e3, 4)}
        return out

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "meta": self.meta, "summary": self.summary(),
               "samples_us": {k: np.round(v * 1e6, 1).tolist() for k, v in self.samples_s.items()}}
        p.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: not a readable calibration file ({exc})") from None
        if doc.get("format") != FORMAT:
            raise ValueError(f"{p}: not a calibration file (format {doc.get('format')!r}, expected {FORMAT})")
        samples = {k: np.asarray(v, dtype=np.float64) / 1e6 for k, v in doc["samples_us"].items()}
        if not any(len(v) for v in samples.values()) or any((v <= 0).any() for v in samples.values()):
            raise ValueError(f"{p}: the samples must be positive and not all empty")
        return cls(samples, doc.get("meta", {}))


def _connection(url: str) -> http.client.HTTPConnection:
    u = urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def _mixes(target: Target, seed: int) -> tuple[list[RequestMix], list[float]]:
    profiles = load_profiles()
    subjects = target.subjects()
    mixes = [RequestMix(p, profiles, subjects, seed=seed + i) for i, p in enumerate(profiles)]
    return mixes, [p.per_million_per_year for p in profiles]


def measure_serial(target: Target, requests: int, *, seed: int = 0, warmup: int = 200) -> dict[str, list[float]]:
    """Latency of each request sent alone, by outcome; raises on a wrong answer."""
    gateways = target.tokens()["gateways"]
    mixes, w = _mixes(target, seed)
    rng = random.Random(seed)
    conn = _connection(target.url)
    out: dict[str, list[float]] = {"provided": [], "held": [], "refused": []}
    try:
        for i in range(warmup + requests):
            mix = rng.choices(mixes, weights=w)[0]
            planned = mix.draw()
            body = json.dumps(planned.body)
            headers = {"Authorization": f"Bearer {gateways[mix.code]}", "Content-Type": "application/json"}
            t = time.perf_counter()
            conn.request("POST", "/v1/provisions", body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read()
            dt = time.perf_counter() - t
            outcome, problem = check_response(planned, resp.status, text)
            if problem is not None:
                raise RuntimeError(f"calibration request {i} answered wrongly: {problem}")
            if i >= warmup:
                out[outcome].append(dt)
    finally:
        conn.close()
    return out


def measure_saturation(target: Target, *, connections: int = 8, seconds: float = 5.0, seed: int = 0) -> dict:
    """Requests/s with ``connections`` keep-alive connections sending back to back (threads).
    Each connection sends at least one request: on a busy machine the threads may start
    after a short window has closed, which measured nothing."""
    gateways = target.tokens()["gateways"]
    mixes, w = _mixes(target, seed + 1000)
    counts = [0] * connections
    stop = time.perf_counter() + seconds

    def run(k: int) -> None:
        rng = random.Random(seed + k)
        conn = _connection(target.url)
        try:
            while True:
                mix = rng.choices(mixes, weights=w)[0]
                planned = mix.draw()
                conn.request("POST", "/v1/provisions", body=json.dumps(planned.body),
                             headers={"Authorization": f"Bearer {gateways[mix.code]}",
                                      "Content-Type": "application/json"})
                conn.getresponse().read()
                counts[k] += 1
                if time.perf_counter() >= stop:
                    break
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"connections": connections, "seconds": round(elapsed, 2), "requests": sum(counts),
            "requests_per_s": round(sum(counts) / elapsed, 1)}


def calibrate(out: str | Path, *, requests: int = 3000, host: str | None = None, tokens: str | Path | None = None,
              subjects: str | Path | None = None, residents: int = 5000, workers: int = 1, seed: int = 0,
              saturation_s: float = 5.0, workdir: str | Path | None = None,
              progress: Callable[[str], None] | None = None) -> Calibration:
    """Measure, save to ``out`` and return the calibration."""
    say = progress or (lambda msg: None)
    if requests < 100:
        raise ValueError(f"requests must be at least 100, got {requests}")

    def run(target: Target, where: str) -> Calibration:
        say(f"calibrating: {requests:,} requests one at a time against {target.url}")
        samples = measure_serial(target, requests, seed=seed)
        say("measuring saturation throughput")
        sat = measure_saturation(target, seconds=saturation_s, seed=seed) if saturation_s > 0 else None
        meta = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "target": where,
                "machine": f"{platform.platform()} | Python {platform.python_version()} | {os.cpu_count()} CPUs",
                "service_workers": workers if host is None else "external", "requests": requests, "seed": seed,
                "method": "latency of requests sent one at a time over one keep-alive loopback connection",
                "saturation": sat}
        cal = Calibration({k: np.asarray(v) for k, v in samples.items()}, meta)
        cal.save(out)
        return cal

    if host is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="jukimatch-calibrate-") as tmp:
            base = Path(workdir) if workdir else Path(tmp)
            with LocalService(base, residents=residents, seed=seed + 1, workers=workers, progress=say) as target:
                return run(target, f"local demo store of {residents:,} residents")
    if not host.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError(f"--host must be a loopback URL, got {host!r}")
    if tokens is None or subjects is None:
        raise ValueError("--host needs --tokens and --subjects")
    return run(Target(host.rstrip("/"), Path(tokens), Path(subjects)), host)
