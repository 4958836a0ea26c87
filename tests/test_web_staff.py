"""The team's pages: sign-in by emailed link, session expiry, CSRF, sign-off, the audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.delivery import signoff
from digest.delivery.store import DELIVERY, SENT_MESSAGE, Store
from tests.web_site import WebApp, form_token_of, web_site


@pytest.fixture
def app(tmp_path: Path, store: Store) -> Iterator[WebApp]:
    root = web_site(tmp_path / "site")
    path = root / "schedules.toml"
    path.write_text(path.read_text().replace(
        'offset = "0 days"\nat = "09:00"',
        'offset = "0 days"\nat = "09:00"\nsign_off = ["role:performance"]',
    ))  # fmt: skip
    yield WebApp(root, store)


def emailed_link(store: Store) -> str:
    query = sa.select(SENT_MESSAGE.c.raw).join(DELIVERY).where(
        DELIVERY.c.schedule_id == "staff-sign-in"
    ).order_by(DELIVERY.c.id.desc())  # fmt: skip
    with store.transaction() as connection:
        raw = connection.execute(query).scalars().first()
    assert raw is not None
    text = str(message_from_bytes(raw).get_payload(decode=True), "utf-8")
    found = re.search(r"https://digest\.example\.gov\.uk(/staff/link/\S+)", text)
    assert found
    return found.group(1)


def ask(app: WebApp, email: str) -> int:
    token = form_token_of(app.client.get("/staff/sign-in").text)
    response = app.client.post("/staff/sign-in", data={"form_token": token, "email": email})
    assert "Check your email" in response.text
    return response.status_code


def sign_in(app: WebApp) -> None:
    assert ask(app, "perf@example.gov.uk") == 200
    link = emailed_link(app.store)
    token = form_token_of(app.client.get(link).text)
    response = app.client.post(link, data={"form_token": token}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=lax" in cookie.replace("Lax", "lax")
    )


def count_sign_in_emails(store: Store) -> int:
    query = sa.select(sa.func.count()).where(DELIVERY.c.schedule_id == "staff-sign-in")
    with store.transaction() as connection:
        return int(connection.execute(query).scalar_one())


def test_sign_in_by_an_emailed_link_used_once(app: WebApp) -> None:
    assert app.client.get("/staff").status_code == 401
    sign_in(app)
    assert "Signed in as Performance Officer" in app.client.get("/staff").text
    link = emailed_link(app.store)
    assert app.client.get(link).status_code == 200
    token = form_token_of(app.client.get(link).text)
    assert app.client.post(link, data={"form_token": token}).status_code == 409


def test_the_answer_is_the_same_for_an_unknown_address_and_asking_is_limited(app: WebApp) -> None:
    assert ask(app, "nobody@example.gov.uk") == 200
    assert ask(app, "a@example.gov.uk") == 200  # a member, not staff
    assert count_sign_in_emails(app.store) == 0
    app.start()
    for _ in range(5):
        ask(app, "perf@example.gov.uk")
    assert count_sign_in_emails(app.store) == 3


def test_links_expire_after_15_minutes_and_sessions_after_8_hours(app: WebApp) -> None:
    ask(app, "perf@example.gov.uk")
    link = emailed_link(app.store)
    app.now += timedelta(minutes=16)
    assert app.client.get(link).status_code == 410
    sign_in(app)
    app.now += timedelta(hours=8, minutes=1)
    assert app.client.get("/staff").status_code == 401


def test_a_members_token_is_refused_on_staff_pages(app: WebApp) -> None:
    member = app.token("view", "perf")
    assert app.client.get(f"/staff/link/{member}").status_code == 400
    app.client.cookies.set("digest_staff", member)
    assert app.client.get("/staff").status_code == 401
    assert app.client.get("/staff/history").status_code == 401


def test_every_staff_post_needs_its_form_token(app: WebApp) -> None:
    assert (
        app.client.post("/staff/sign-in", data={"email": "perf@example.gov.uk"}).status_code == 400
    )
    sign_in(app)
    for path in ("/staff/approve", "/staff/sign-out", "/staff/send-again"):
        assert (
            app.client.post(path, data={"schedule": "tracker", "on": "2026-11-12"}).status_code
            == 403
        )
    link = "/staff/link/x"
    assert app.client.post(link, data={}).status_code == 400


def staff_token(app: WebApp) -> str:
    return form_token_of(app.client.get("/staff").text)


def test_approve_and_hold_from_the_page_and_the_audit(app: WebApp) -> None:
    sign_in(app)
    data = {"schedule": "tracker", "on": "2026-11-12"}
    response = app.client.post("/staff/approve", data={**data, "action": "hold",
                                                       "form_token": staff_token(app)})  # fmt: skip
    assert response.status_code == 200
    assert [d.action for d in signoff.decisions(app.store, "tracker")] == ["held"]
    app.client.post(
        "/staff/approve", data={**data, "action": "approve", "form_token": staff_token(app)}
    )
    decisions = signoff.decisions(app.store, "tracker")
    assert [(d.action, d.by) for d in decisions] == [("held", "perf"), ("approved", "perf")]
    history = app.client.get("/staff/history?recipient=member-a").text
    assert "social-care:2026-10-31" in history
    eml = re.search(r'href="(message/\d+\.eml)"', history)
    assert eml
    response = app.client.get("/staff/" + eml.group(1))
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "message/rfc822"
    )
    assert b"Subject:" in response.content


def test_a_schedule_due_every_day_takes_one_line_of_the_home_page(app: WebApp) -> None:
    sign_in(app)
    page = app.client.get("/staff").text
    due = page.split("Due in the next three weeks")[1].split("</ul>")[0]
    lines = re.findall(r"<li>(.*?)</li>", due, re.DOTALL)
    daily = [line for line in lines if "<b>daily</b>" in line]
    assert len(daily) == 1, due
    assert re.search(r"then \d+ more to \d\d \w{3}", daily[0])
    assert len(lines) < 8
