"""The workbench in a real browser: Debian's chromium driven by Playwright, the app on loopback."""
from __future__ import annotations

import re
import shutil

import pyarrow.parquet as pq
import pytest
from playwright import sync_api
from tests.api.review.support import count, make_desk, plain_cases, rank_of, shared_pair
from tests.api.service.support import live

from jukimatch.api.review import export
from jukimatch.api.service import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FULL_NUMBER = re.compile(r"(?<![\d.])\d{12}(?!\d)")


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    return make_desk(tmp_path_factory)


@pytest.fixture(scope="module")
def server(desk):
    yield from live(create_app(desk.store, retry_interval_s=None))


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is missing: `make install` installs Debian's chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def plain(desk):
    # last first: a decision moves the clerk on to the *following* case and leases it
    return iter(reversed(plain_cases(desk.store)))


def log_in(browser, server, desk, user, path="/review"):
    ctx = browser.new_context(base_url=server.url)
    page = ctx.new_page()
    page.goto(path)
    page.fill("input[name=token]", desk.tokens[user])
    page.press("input[name=token]", "Enter")
    page.wait_for_load_state()
    return page


def test_log_in_filter_and_switch_language(browser, server, desk):
    page = log_in(browser, server, desk, "clerk1")
    assert page.url.endswith("/review") and "キュー" in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "jm_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.select_option("select[name=reason]", "number_shared")
    page.click("#filters button[type=submit]")
    # the new page's rows, not the old one's nor none: read once the filtered page has loaded
    page.wait_for_url(re.compile(r"reason=number_shared"))
    page.wait_for_load_state()
    page.locator("table.cases tbody tr").first.wait_for()
    rows = page.locator("table.cases tbody tr").all_inner_texts()
    assert rows and all("number_shared" in r for r in rows)
    page.goto("/review?lang=en")
    assert "Queue" in page.content() and "Next case" in page.content()
    page.goto("/review")
    assert "Queue" in page.content()  # the choice sticks
    page.context.close()


def test_clerk_decides_by_keyboard_supervisor_approves_export_after(browser, server, desk, plain, tmp_path):
    pid = next(plain)
    page = log_in(browser, server, desk, "clerk1", f"/review/cases/{pid}")
    assert page.locator("#person").inner_text() == pid
    assert not FULL_NUMBER.search(page.content())  # masked until revealed
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"saved="))
    status = desk.store.conn.execute("SELECT status FROM review_cases WHERE person_id = ? AND status != 'superseded'",
                                     (pid,)).fetchone()[0]
    assert status == "proposed"
    export(desk.store, tmp_path / "before")
    assert pid not in pq.read_table(tmp_path / "before" / "registrations.parquet").column("person_id").to_pylist()
    sup = log_in(browser, server, desk, "sup1", "/review/approvals")
    sup.click(f"text={pid}")
    sup.click("#approve")
    sup.wait_for_url(re.compile(r"/review/approvals"))
    export(desk.store, tmp_path / "after")
    assert pid in pq.read_table(tmp_path / "after" / "registrations.parquet").column("person_id").to_pylist()
    page.context.close()
    sup.context.close()


def test_proposer_cannot_approve_and_a_shared_number_is_refused(browser, server, desk, plain):
    sup = log_in(browser, server, desk, "sup1")
    pid = next(plain)
    sup.goto(f"/review/cases/{pid}")
    sup.click("#submit")  # candidate 1 is chosen by default
    sup.goto(f"/review/cases/{pid}")
    sup.click("#approve")
    assert "proposer" in sup.locator(".error").inner_text()
    a, b, number = shared_pair(desk.store)
    clerk = log_in(browser, server, desk, "clerk2", f"/review/cases/{a}")
    clerk.keyboard.press(str(rank_of(desk.store, a, number)))
    clerk.keyboard.press("Enter")
    clerk.wait_for_url(re.compile(r"saved="))
    clerk.goto(f"/review/cases/{b}")
    clerk.keyboard.press(str(rank_of(desk.store, b, number)))
    clerk.keyboard.press("Enter")
    clerk.wait_for_load_state()
    assert "already proposed for another person" in clerk.locator("#error").inner_text()
    sup.context.close()
    clerk.context.close()


def test_reveal_is_deliberate_and_audited(browser, server, desk, plain):
    pid = plain_cases(desk.store)[0]  # the queue's first: a following case exists, whatever ran before
    page = log_in(browser, server, desk, "clerk1", f"/review/cases/{pid}")
    assert not FULL_NUMBER.search(page.content())
    page.click("#reveal-1")
    shown = page.locator("#revealed-1").inner_text()
    assert FULL_NUMBER.fullmatch(shown)
    assert count(desk.store.path, "SELECT count(*) FROM audit_log WHERE operation = 'review_reveal'"
                 " AND staff_id = 'clerk1' AND person_id = ? AND my_number = ?", (pid, shown)) == 1
    following = page.get_attribute("#next-link", "href")
    page.keyboard.press("j")  # next case without the mouse
    page.wait_for_url(f"**{following}")
    assert page.locator("#person").inner_text() == following.rsplit("/", 1)[1]
    page.context.close()


def test_next_link_skips_a_case_another_clerk_holds(browser, server, desk):
    first = plain_cases(desk.store)[1]
    page = log_in(browser, server, desk, "clerk1", f"/review/cases/{first}")
    following = page.get_attribute("#next-link", "href")
    held = log_in(browser, server, desk, "clerk2", following)  # clerk2 opens it: it is theirs now
    assert held.locator("#person").inner_text() == following.rsplit("/", 1)[1]
    page.reload()
    assert page.get_attribute("#next-link", "href") != following
    held.context.close()
    page.context.close()


def test_form_without_csrf_is_refused_and_idle_session_logs_out(browser, server, desk, plain):
    pid = next(plain)
    page = log_in(browser, server, desk, "clerk2", f"/review/cases/{pid}")
    r = page.context.request.post(f"/review/cases/{pid}/decision", form={"action": "no_match", "note": "x"})
    assert r.status == 403
    assert desk.store.conn.execute("SELECT status FROM review_cases WHERE person_id = ? AND status != 'superseded'",
                                   (pid,)).fetchone()[0] == "open"
    with desk.store.write() as conn:
        conn.execute("UPDATE review_sessions SET last_seen = 0 WHERE user_id = 'clerk2'")
    page.goto("/review")
    assert "/review/login" in page.url and page.locator("#expired").is_visible()
    page.context.close()
