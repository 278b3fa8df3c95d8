"""The ASGI app (Starlette): bodies read with a size cap, callers authenticated, work on threads.

Starlette is imported here only, so ``import jukimatch.api.service`` works without the
``service`` extra; :func:`create_app` raises a helpful ``ImportError`` when it is missing.

Every client mistake becomes a 4xx JSON refusal: a body that is not JSON — nested too deep,
an integer too long to convert, a lone surrogate included — (400), too large (413), not
declared as JSON (415), not matching its model (422), an unknown route, or an id beyond what
SQLite can hold (404), an unknown method (405). Refusals are recorded where the route records:
a provision request always leaves a provision record, a refused authenticity check an audit
entry. Anything unexpected is logged with numbers masked and answered with a bare 500 that
carries no detail — and a provision request that ends so is recorded as ``error``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from . import audit, authenticity, logsafe, openapi, provision
from .auth import Principal, authenticate
from .errors import (BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceError, Unauthorized,
                     Unprocessable, UnsupportedMediaType)
from .jukinet import HttpJukinet, Jukinet, read_token
from .routes import ROUTES, Call, Route
from .store import Store

log = logging.getLogger("jukimatch.service")
MAX_BODY_BYTES = 16 * 1024
MAX_ID = 2**63 - 1  # SQLite's INTEGER


def _has_surrogate(value: Any) -> bool:
    """A lone surrogate (``"\\ud800"``) cannot be stored or logged as UTF-8."""
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _read_json(request: Any, limit: int) -> Any:
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("unsupported_media_type", "the body must be sent as application/json")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge("body_too_large", f"the body must be at most {limit} bytes")
        except ValueError:
            raise BadRequest("bad_content_length", "Content-Length is not a number") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("body_too_large", f"the body must be at most {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("malformed_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                           f"column {exc.colno}") from None
    except RecursionError:
        raise BadRequest("malformed_json", "the body nests too deeply") from None
    except ValueError:  # an integer literal beyond Python's conversion limit
        raise BadRequest("malformed_json", "the body holds a number too long to read") from None
    try:
        bad = _has_surrogate(value)
    except RecursionError:
        raise BadRequest("malformed_json", "the body nests too deeply") from None
    if bad:
        raise BadRequest("malformed_json", "the body holds a lone surrogate (not valid Unicode text)")
    return value


def all_routes() -> tuple[Route, ...]:
    """The service's JSON routes and the review workbench's: what ``/openapi.json`` documents."""
    from jukimatch.api.review.routes import ROUTES as REVIEW_ROUTES

    return ROUTES + REVIEW_ROUTES


def create_app(store: Store | str | Path, *, jukinet: Jukinet | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               retry_interval_s: float | None = 60.0, retry_base_s: float = authenticity.RETRY_BASE_S,
               review_four_eyes: bool = True, review_idle_s: float = 900.0) -> Any:
    """Build the ASGI app over ``store`` (a :class:`Store` or a path to one).

    ``jukinet`` answers authenticity checks' lookups (None: every lookup is unavailable, so
    checks stay provisional). ``retry_interval_s`` runs :func:`retry_provisional` in the
    background that often (None: only the retry endpoint does). The review workbench is
    mounted at ``/review`` and ``/v1/review/...``: ``review_four_eyes`` makes a confirm a
    proposal a second person approves; ``review_idle_s`` ends an idle page session.
    """
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.exceptions import HTTPException
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route as StarletteRoute
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the inquiry service needs the 'service' extra: pip install 'jukimatch[service]'") from exc

    logsafe.install()
    st = store if isinstance(store, Store) else Store(store)
    settings = {"retry_base_s": retry_base_s, "review_four_eyes": review_four_eyes, "review_idle_s": review_idle_s}
    from jukimatch.api.review.web import page_routes

    routes_served = all_routes()

    def respond(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        return Response(_json_bytes(payload), status_code=status, media_type="application/json", headers=headers)

    def refuse_provision(principal: Principal | None, exc: ServiceError) -> ServiceError:
        """A provision request refused before its checks still leaves a provision record."""
        if principal is None:
            return exc
        status = provision.FORBIDDEN if exc.status == 403 else provision.INVALID
        pid = provision.record_refusal(st, user_id=principal.user_id, requester=principal.requester_code,
                                       reason=f"{exc.code}: {exc.message}", status=status)
        exc.details = {"provision_id": pid, **({"problems": exc.details} if exc.details else {})}
        exc.recorded = True
        return exc

    def refuse_check(principal: Principal | None, exc: ServiceError) -> None:
        """A refused authenticity-check request still leaves an audit entry (who tried)."""
        if principal is None:
            return
        with st.write() as conn:
            audit.append(conn, staff_id=principal.user_id, role=principal.role, operation="authenticity_check_refused",
                         detail={"error": exc.code, "status": exc.status})

    def endpoint(route: Route) -> Callable[[Request], Awaitable[Response]]:
        is_provision = route.handler.__name__ == "post_provision"
        is_check = route.handler.__name__ == "post_check"

        async def handle(request: Request) -> Response:
            principal: Principal | None = None
            try:
                if route.roles:
                    principal = authenticate(st.conn, request.headers.get("authorization"))
                    if principal is None:
                        raise Unauthorized("unauthorized", "a valid bearer token is required")
                    if principal.role not in route.roles:
                        raise Forbidden("role_not_allowed", f"role {principal.role} may not call this endpoint")
                unknown = sorted(set(request.query_params) - {q for q, _ in route.query})
                if unknown:
                    raise Unprocessable("invalid_query", f"unknown query parameter(s); known: "
                                                         f"{', '.join(q for q, _ in route.query) or 'none'}")
                if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in request.path_params.values()):
                    raise NotFound("unknown_id", "no such record")
                body = None
                if route.model is not None:
                    body = route.model.validate(await _read_json(request, max_body_bytes))
                call = Call(st, jukinet, principal, body, dict(request.path_params), dict(request.query_params),
                            settings)
                if route.inline:
                    status, payload = route.handler(call)
                else:
                    status, payload = await run_in_threadpool(route.handler, call)
                return respond(status, payload)
            except ServiceError as exc:
                if is_provision and exc.status != 401 and not exc.recorded:
                    exc = refuse_provision(principal, exc)
                elif is_check and exc.status not in (401, 404):  # 404: the check itself audited it
                    refuse_check(principal, exc)
                return respond(exc.status, exc.as_dict())
            except Exception as exc:  # noqa: BLE001 - the client gets no detail; the log gets a masked trace
                log.exception("internal error in %s %s", route.method, route.path)
                if is_provision and principal is not None and not getattr(exc, "provision_recorded", False):
                    try:
                        provision.record_refusal(st, user_id=principal.user_id, requester=principal.requester_code,
                                                 reason=f"internal_error: {type(exc).__name__}", status=provision.ERROR)
                    except Exception:  # noqa: BLE001 - the store is what failed
                        log.exception("the failed provision request could not be recorded")
                return respond(500, {"error": "internal_error", "message": "internal error"})
        handle.__name__ = route.name
        return handle

    spec = openapi.build(routes_served)

    async def openapi_json(request: Request) -> Response:
        return respond(200, spec)

    async def health(request: Request) -> Response:
        return respond(200, {"status": "ok", "jukinet": type(jukinet).__name__ if jukinet else None})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return respond(exc.status_code, {"error": code, "message": str(exc.detail)}, exc.headers)  # 405: Allow

    routes = [StarletteRoute(r.path, endpoint(r), methods=[r.method], name=r.name) for r in routes_served]
    routes += [StarletteRoute("/openapi.json", openapi_json, methods=["GET"]),
               StarletteRoute("/health", health, methods=["GET"])]
    routes += page_routes(st, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_retry_loop(st, jukinet, retry_interval_s, retry_base_s))] \
            if retry_interval_s else []
        if st.anchorer is not None:
            tasks.append(asyncio.create_task(_anchor_loop(st)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if st.anchorer is not None and st.anchorer.pending:
                st.anchor()

    handlers: dict[Any, Any] = {HTTPException: http_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.store = st
    app.state.jukinet = jukinet
    app.state.openapi = spec
    return app


async def _retry_loop(store: Store, jukinet: Jukinet | None, interval_s: float, retry_base_s: float) -> None:
    """Retry due provisional registrations every ``interval_s`` seconds, for the app's lifetime."""
    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(interval_s)
        try:
            outs = await run_in_threadpool(authenticity.retry_provisional, store, jukinet=jukinet,
                                           staff_id="system:retry", role="operator", retry_base_s=retry_base_s)
            if outs:
                done = sum(o.result != authenticity.PROVISIONAL for o in outs)
                log.info("background retry: %d provisional registrations tried, %d decided", len(outs), done)
        except Exception:  # noqa: BLE001 - the loop must survive a bad round
            log.exception("background retry failed")


async def _anchor_loop(store: Store) -> None:
    """Anchor the chains' heads once per anchor interval when entries were appended since."""
    from starlette.concurrency import run_in_threadpool

    anchorer = store.anchorer
    assert anchorer is not None  # the loop runs only for a store that anchors
    while True:
        await asyncio.sleep(anchorer.interval_s)
        try:
            if anchorer.pending:
                await run_in_threadpool(store.anchor)
        except Exception:  # noqa: BLE001 - the loop must survive a bad round
            log.exception("anchoring the audit heads failed")


def app_from_env() -> Any:
    """App factory for ``uvicorn --factory`` and multi-worker serving.

    Reads ``JUKIMATCH_DB`` (required), ``JUKIMATCH_JUKINET_URL`` (a Juki-net responder; absent:
    checks stay provisional), ``JUKIMATCH_JUKINET_TOKEN_FILE``, ``JUKIMATCH_JUKINET_INSECURE``
    (1: allow plain http off loopback), ``JUKIMATCH_RETRY_INTERVAL`` (seconds; 0 disables),
    ``JUKIMATCH_AUDIT_KEY_FILE``, ``JUKIMATCH_AUDIT_ANCHOR`` and ``JUKIMATCH_ANCHOR_EVERY``, and the
    review workbench's ``JUKIMATCH_REVIEW_FOUR_EYES`` (0: off) and ``JUKIMATCH_REVIEW_IDLE`` (seconds).
    """
    db = os.environ.get("JUKIMATCH_DB")
    if not db:
        raise RuntimeError("JUKIMATCH_DB must name the store file")
    url = os.environ.get("JUKIMATCH_JUKINET_URL")
    interval = float(os.environ.get("JUKIMATCH_RETRY_INTERVAL", "60") or 0)
    token_file = os.environ.get("JUKIMATCH_JUKINET_TOKEN_FILE")
    jukinet = HttpJukinet(url, token=read_token(token_file) if token_file else None,
                          allow_insecure=os.environ.get("JUKIMATCH_JUKINET_INSECURE") == "1") if url else None
    store = Store(db, anchor_file=os.environ.get("JUKIMATCH_AUDIT_ANCHOR") or None,
                  anchor_every=int(os.environ.get("JUKIMATCH_ANCHOR_EVERY", "100")))
    return create_app(store, jukinet=jukinet, retry_interval_s=interval or None,
                      review_four_eyes=os.environ.get("JUKIMATCH_REVIEW_FOUR_EYES", "1") != "0",
                      review_idle_s=float(os.environ.get("JUKIMATCH_REVIEW_IDLE", "900") or 900))
