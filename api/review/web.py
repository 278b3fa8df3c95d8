"""The workbench's pages at ``/review``: queue, case, approvals; Jinja2 templates, no page framework.

Cookies are HttpOnly and SameSite=Strict; every form carries a CSRF token (the login form a
per-visit one, matched against a cookie) and a POST without it is refused with 403. Pages
are ``no-store``: a revealed number must not stay in a cache. The work itself is in
:mod:`.cases`, shared with the JSON API, so both follow the same rules.
"""
from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from jukimatch.api.service.errors import ServiceError
from jukimatch.engine.reconcile.features import FIELDS

from . import cases, diff, sessions
from .i18n import LANGS, level_text, reason_text, refusal_text, text

SESSION_COOKIE, PRE_COOKIE, LANG_COOKIE = "jm_session", "jm_pre", "jm_lang"
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'"}
_FILTER_KEYS = ("reason", "municipality", "nationality", "run", "status")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("jukimatch.api.review", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.globals.update(reason_text=reason_text, level_text=level_text, FIELDS=FIELDS, waterfall=waterfall)
    return env


def _lang(request: Any) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "ja"
    return lang if lang in LANGS else "ja"


def _filters(params: Any) -> cases.Filters:
    status = params.get("status") or None
    return cases.Filters(reason=params.get("reason") or None, municipality=params.get("municipality") or None,
                         nationality=params.get("nationality") or None, run=params.get("run") or None,
                         status=status if status in cases.STATUSES else None)


def _candidate_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Per field: the agency's text and each candidate's, differences marked, level and weight."""
    res = case["resident"]
    rows = []
    for f in FIELDS:
        row = {"field": f, "left": res.get(f), "left_normal": (res.get("normal") or {}).get(f), "cands": []}
        for c in case["candidates"]:
            raw_l, raw_r = diff.highlight(res.get(f), c["fields"].get(f))
            cell = {"raw_l": raw_l, "raw": raw_r, "level": c["levels"].get(f), "weight": c["weights"].get(f),
                    "same": (res.get(f) or "") == (c["fields"].get(f) or "")}
            norm_l, norm_r = row["left_normal"], c["normal"].get(f)
            if f == "address":
                cell["parts"] = diff.address_parts(norm_l, norm_r)
            elif norm_l is not None or norm_r is not None:
                cell["norm_l"], cell["norm"] = diff.highlight(norm_l, norm_r)
                cell["order_only"] = f == "name_alpha" and diff.token_order_only(norm_l, norm_r)
            row["cands"].append(cell)
        rows.append(row)
    return rows


def waterfall(prior: float, weights: dict[str, Any], *, width: int = 220) -> list[dict[str, Any]]:
    """The steps from the prior to the total weight, as bars placed on one scale (pixels)."""
    steps = [("prior", prior)] + [(f, float(weights.get(f) or 0.0)) for f in FIELDS]
    ends = np.cumsum([v for _, v in steps])
    starts = np.concatenate([[0.0], ends[:-1]])
    lo, hi = min(0.0, ends.min(), starts.min()), max(0.0, ends.max(), starts.max())
    scale = width / (hi - lo or 1.0)
    out = [{"label": name, "value": v, "left": round((min(a, b) - lo) * scale), "width": max(1, round(abs(v) * scale)),
            "sign": "pos" if v >= 0 else "neg"} for (name, v), a, b in zip(steps, starts, ends)]
    out.append({"label": "total", "value": float(ends[-1]), "left": round((min(0.0, ends[-1]) - lo) * scale),
                "width": max(1, round(abs(ends[-1]) * scale)), "sign": "total"})
    return out


def page_routes(store: Any, settings: dict[str, Any]) -> list[Any]:
    """Starlette routes of the pages, over the app's store and settings."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    env = _env()
    idle_s = float(settings.get("review_idle_s", 900.0))

    def render(request: Request, name: str, status: int = 200, session: sessions.Session | None = None,
               **ctx: Any) -> Response:
        lang = _lang(request)
        html = env.get_template(name).render(
            t=lambda k: text(lang, k), lang=lang, other_lang="en" if lang == "ja" else "ja",
            me=session.principal if session else None, csrf=session.csrf if session else None,
            path=request.url.path, **ctx)
        resp = HTMLResponse(html, status_code=status, headers=_HEADERS)
        if "lang" in request.query_params and lang == request.query_params["lang"]:
            resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/review", samesite="strict", httponly=True)
        return resp

    def said(request: Request, exc: ServiceError) -> str:
        return refusal_text(_lang(request), exc.code, exc.message)

    def redirect(url: str) -> Response:
        return RedirectResponse(url, status_code=303, headers=_HEADERS)

    def cookie(resp: Response, request: Request, name: str, value: str) -> None:
        resp.set_cookie(name, value, path="/review", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")

    async def current(request: Request) -> sessions.Session | Response:
        got = await run_in_threadpool(sessions.resume, store, request.cookies.get(SESSION_COOKIE), idle_s)
        if isinstance(got, sessions.Session):
            return got
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": target} | ({"expired": "1"} if got == sessions.EXPIRED else {})
        return redirect("/review/login?" + urlencode(query))

    async def posted(request: Request) -> tuple[sessions.Session | None, Any, Response | None]:
        """The session and form of a POST; a response instead when logged out or the CSRF token is wrong."""
        s = await current(request)
        if not isinstance(s, sessions.Session):
            return None, None, s
        form = await request.form()
        if not s.csrf_ok(form.get("csrf")):
            return s, form, render(request, "message.html", 403, s, message=text(_lang(request), "forbidden_form"))
        return s, form, None

    async def login_page(request: Request) -> Response:
        pre = secrets.token_urlsafe(24)
        resp = render(request, "login.html", csrf_login=pre, next=request.query_params.get("next", "/review"),
                      expired=request.query_params.get("expired") == "1",
                      failed=request.query_params.get("failed") == "1")
        cookie(resp, request, PRE_COOKIE, pre)
        return resp

    async def login_post(request: Request) -> Response:
        form = await request.form()
        pre, sent = request.cookies.get(PRE_COOKIE, ""), form.get("csrf")
        if not pre or not isinstance(sent, str) or not hmac.compare_digest(pre.encode(), sent.encode()):
            return render(request, "message.html", 403, message=text(_lang(request), "forbidden_form"))
        got = await run_in_threadpool(sessions.login, store, str(form.get("token") or ""))
        nxt = str(form.get("next") or "/review")
        nxt = nxt if nxt.startswith("/review") else "/review"
        if got is None:
            return redirect("/review/login?failed=1&next=" + quote(nxt))
        resp = redirect(nxt)
        cookie(resp, request, SESSION_COOKIE, got[0])
        resp.delete_cookie(PRE_COOKIE, path="/review")
        return resp

    async def logout_post(request: Request) -> Response:
        s, _, refused = await posted(request)
        if refused is not None:
            return refused
        await run_in_threadpool(sessions.logout, store, request.cookies.get(SESSION_COOKIE))
        resp = redirect("/review/login")
        resp.delete_cookie(SESSION_COOKIE, path="/review")
        return resp

    def _queue_data(params: Any) -> dict[str, Any]:
        f = _filters(params)
        after = int(params.get("after") or 0) if str(params.get("after") or "0").isdigit() else 0
        page = cases.list_cases(store, f, after=after, limit=50)
        return {"counts": cases.queue_counts(store), "cases": page, "filters": f,
                "nationalities": cases.nationalities(store), "statuses": cases.STATUSES,
                "more": urlencode({k: getattr(f, k) or "" for k in _FILTER_KEYS} | {"after": page[-1]["case_id"]})
                if len(page) == 50 else None}

    async def queue(request: Request) -> Response:
        s = await current(request)
        if not isinstance(s, sessions.Session):
            return s
        data = await run_in_threadpool(_queue_data, request.query_params)
        return render(request, "queue.html", session=s, saved=request.query_params.get("saved"),
                      empty=request.query_params.get("empty") == "1", **data)

    async def next_post(request: Request) -> Response:
        s, form, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None  # posted() answers with a refusal whenever there is no session
        pid = await run_in_threadpool(cases.next_case, store, s.principal, _filters(form))
        return redirect(f"/review/cases/{quote(pid)}" if pid else "/review?empty=1")

    async def show_case(request: Request, s: sessions.Session, *, status: int = 200, error: str | None = None,
                        revealed: dict[str, Any] | None = None) -> Response:
        pid = request.path_params["person_id"]
        try:
            case = await run_in_threadpool(cases.open_case, store, pid, s.principal)
        except ServiceError as exc:
            return render(request, "message.html", exc.status, s,
                          message=said(request, exc))
        prev_pid = await run_in_threadpool(cases.neighbour, store, pid, forward=False, me=s.principal)
        next_pid = await run_in_threadpool(cases.neighbour, store, pid, forward=True, me=s.principal)
        return render(request, "case.html", status, s, case=case, rows=_candidate_rows(case), error=error,
                      revealed=revealed or {}, prev_pid=prev_pid, next_pid=next_pid,
                      saved=request.query_params.get("saved"))

    async def case_page(request: Request) -> Response:
        s = await current(request)
        if not isinstance(s, sessions.Session):
            return s
        return await show_case(request, s)

    async def reveal_post(request: Request) -> Response:
        s, form, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None  # posted() answers with a refusal whenever there is no session
        rank = str(form.get("candidate") or "")
        if not rank.isdigit():
            return await show_case(request, s, status=422, error="candidate must be a number")
        try:
            number = await run_in_threadpool(cases.reveal, store, request.path_params["person_id"], int(rank),
                                             s.principal)
        except ServiceError as exc:
            return await show_case(request, s, status=exc.status, error=said(request, exc))
        revealed: dict[Any, Any] = {int(rank): number}
        return await show_case(request, s, revealed=revealed)

    async def decision_post(request: Request) -> Response:
        s, form, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None  # posted() answers with a refusal whenever there is no session
        pid = request.path_params["person_id"]
        action = str(form.get("action") or "")
        cand = str(form.get("candidate") or "")
        try:
            res = await run_in_threadpool(
                lambda: cases.decide(store, pid, s.principal, action, candidate=int(cand) if cand.isdigit() else None,
                                     note=str(form.get("note") or ""),
                                     four_eyes=settings.get("review_four_eyes", True)))
        except ServiceError as exc:
            return await show_case(request, s, status=exc.status, error=said(request, exc))
        nxt = await run_in_threadpool(cases.next_case, store, s.principal, cases.Filters(), after=res["case_id"])
        saved = quote(pid)
        return redirect(f"/review/cases/{quote(nxt)}?saved={saved}" if nxt else f"/review?saved={saved}")

    async def approval_post(request: Request) -> Response:
        s, form, refused = await posted(request)
        if refused is not None:
            return refused
        assert s is not None  # posted() answers with a refusal whenever there is no session
        try:
            await run_in_threadpool(cases.approve, store, request.path_params["person_id"], s.principal,
                                    form.get("approve") == "1", note=str(form.get("note") or ""))
        except ServiceError as exc:
            return await show_case(request, s, status=exc.status, error=said(request, exc))
        return redirect("/review/approvals?saved=" + quote(request.path_params["person_id"]))

    async def approvals(request: Request) -> Response:
        s = await current(request)
        if not isinstance(s, sessions.Session):
            return s
        rows = await run_in_threadpool(cases.proposals, store)
        return render(request, "approvals.html", session=s, proposals=rows, saved=request.query_params.get("saved"))

    async def root(request: Request) -> Response:
        return redirect("/review")

    static = Path(__file__).with_name("static")
    return [
        Route("/review", queue, methods=["GET"]),
        Route("/review/", root, methods=["GET"]),
        Route("/review/login", login_page, methods=["GET"]),
        Route("/review/login", login_post, methods=["POST"]),
        Route("/review/logout", logout_post, methods=["POST"]),
        Route("/review/next", next_post, methods=["POST"]),
        Route("/review/approvals", approvals, methods=["GET"]),
        Route("/review/cases/{person_id}", case_page, methods=["GET"]),
        Route("/review/cases/{person_id}/reveal", reveal_post, methods=["POST"]),
        Route("/review/cases/{person_id}/decision", decision_post, methods=["POST"]),
        Route("/review/cases/{person_id}/approval", approval_post, methods=["POST"]),
        Mount("/review/static", StaticFiles(directory=static), name="review-static"),
    ]
