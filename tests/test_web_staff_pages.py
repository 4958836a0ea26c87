"""The team's pages beyond sign-off: failures sent again, stale data and publications waiting
for data, requests and feedback, previews, and the audit's filters (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest import calendar
from digest.delivery import answers, store
from digest.delivery.answers import StoredFeedback, StoredRequest
from digest.delivery.service import Service
from digest.delivery.site import load_site
from digest.delivery.store import DELIVERY, RUN, Store
from digest.delivery.transports import transport_for
from digest.model import delivery_key
from digest.web.view import message_html
from tests.test_web_staff import sign_in, staff_token
from tests.web_site import NOW, SECRET, WebApp, web_site


@pytest.fixture
def app(tmp_path: Path, store: Store) -> Iterator[WebApp]:
    yield WebApp(web_site(tmp_path / "site"), store)


def fail(app: WebApp, recipient_id: str, error: str) -> int:
    """A message to `recipient_id` that failed for good; its delivery's id."""
    app.send(recipient_id)
    with app.store.transaction() as connection:
        return int(connection.execute(
            DELIVERY.update().where(DELIVERY.c.recipient_id == recipient_id)
            .values(state="failed", last_error=error, attempts=1).returning(DELIVERY.c.id)
        ).scalar_one())  # fmt: skip


def state_of(app: WebApp, delivery_id: int) -> str:
    with app.store.transaction() as connection:
        query = sa.select(DELIVERY.c.state).where(DELIVERY.c.id == delivery_id)
        return str(connection.execute(query).scalar_one())


def rows(app: WebApp, table: sa.Table) -> int:
    with app.store.transaction() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_failure_says_who_and_why_and_send_again_sends_it(app: WebApp) -> None:
    failed = fail(app, "member-a", "550 5.1.1 mailbox unavailable")
    sign_in(app)
    home = app.client.get("/staff").text
    assert "Cllr member-a" in home and "550 5.1.1 mailbox unavailable" in home
    assert f'name="delivery" value="{failed}"' in home and "Send again" in home
    assert app.client.get("/staff/send-again").status_code == 405  # a GET changes nothing
    response = app.client.post(
        "/staff/send-again",
        data={"delivery": str(failed), "form_token": staff_token(app)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert state_of(app, failed) == "sent"  # queued again by retry's mechanism, and sent
    again = app.client.post(
        "/staff/send-again", data={"delivery": str(failed), "form_token": staff_token(app)}
    )
    assert again.status_code == 409 and "no longer failed" in again.text


def test_send_again_needs_a_session_of_the_team_and_its_form_token(app: WebApp) -> None:
    failed = fail(app, "member-a", "550 no such user")
    data = {"delivery": str(failed)}
    assert app.client.post("/staff/send-again", data=data).status_code == 401
    app.client.cookies.set("digest_staff", app.token("view", "perf"))  # a member's token
    assert app.client.post("/staff/send-again", data=data).status_code == 401
    app.client.cookies.clear()
    sign_in(app)
    refused = app.client.post("/staff/send-again", data={**data, "form_token": "forged"})
    assert refused.status_code == 403 and "Traceback" not in refused.text
    assert state_of(app, failed) == "failed"


def test_the_data_page_lists_stale_measures_and_publications_waiting_for_data(
    app: WebApp,
) -> None:
    sign_in(app)
    page = app.client.get("/staff/data").text
    assert "Every measure" in page and "No publication is waiting for its data." in page
    observations = app.site / "data" / "observations"
    daily = (observations / "daily.csv").read_text().splitlines()
    kept = [line for line in daily if not line.startswith("in-care,2026-11-1")]
    (observations / "daily.csv").write_text("\n".join(kept) + "\n")
    monthly = (observations / "monthly.csv").read_text()
    (observations / "monthly.csv").write_text(
        "\n".join(line for line in monthly.splitlines() if not line.startswith("visits,2026-10-31"))
        + "\n"
    )
    page = app.client.get("/staff/data").text
    stale, waiting = page.split("Publications waiting for data")
    assert "Children in care" in stale and "period ending 9 November 2026" in stale
    assert "Open referrals" not in stale
    assert "social-care" in waiting and "Visits in time (visits)" in waiting
    assert re.search(r"<b>tracker</b> waits for them until \d\d \w+ 2026", waiting)


def test_requests_by_publication_and_feedback_most_recent_first(app: WebApp) -> None:
    october = date(2026, 10, 31)
    for who, measure, note in (("member-a", "visits", "Why so late?"), ("lead", "caseload", "")):
        answers.record_request(app.store, StoredRequest(
            "social-care", october, measure, who, note, "web", NOW - timedelta(days=1)
        ))  # fmt: skip
    answers.record_request(app.store, StoredRequest(
        "social-care", date(2026, 9, 30), "caseload", "chair", "", "cli", NOW - timedelta(days=30)
    ))  # fmt: skip
    for schedule, key, who, useful, comment, days in (
        ("daily", "2026-11-13", "chair", True, "", 3),
        ("tracker", "social-care:2026-10-31", "chair", True, "Clear, thank you", 2),
        ("tracker", "social-care:2026-10-31", "lead", False, "Too long", 1),
    ):
        answers.record_feedback(app.store, StoredFeedback(
            schedule, key, who, useful, comment, NOW - timedelta(days=days)
        ))  # fmt: skip
    sign_in(app)
    page = app.client.get("/staff/answers").text
    requests, feedback = page.split("Feedback: was this useful?")
    october_part, september_part = requests.split("period ending 30 September 2026")
    assert "period ending 31 October 2026</b>" not in october_part  # the scorecard is bold
    assert "31 October 2026: 3 requests" in october_part
    assert "<b>Visits in time</b>: 2 (Cllr Chair; Cllr A: “Why so late?”)" in october_part
    assert "<b>Average caseload</b>: 1 (Cllr Lead)" in october_part
    assert ": 1 request" in september_part and "Cllr Chair" in september_part
    assert feedback.index("tracker") < feedback.index("daily")
    assert "1 yes, 1 no" in feedback and "1 yes, 0 no" in feedback
    assert feedback.index("Too long") < feedback.index("Clear, thank you")


def test_the_audit_filters_by_schedule_and_dates_as_digest_history_does(app: WebApp) -> None:
    app.send("member-a")  # invite, on 16 November
    app.now += timedelta(days=2)
    app.send("chair", "daily", "2026-11-18")
    sign_in(app)
    everything = app.client.get("/staff/history").text
    assert "Cllr member-a" in everything and "Cllr chair" in everything
    daily = app.client.get("/staff/history?schedule=daily").text
    assert "Cllr chair" in daily and "Cllr member-a" not in daily
    assert 'selected>daily</option>' in daily
    later = app.client.get("/staff/history?from=2026-11-17").text
    assert "Cllr chair" in later and "Cllr member-a" not in later
    earlier = app.client.get("/staff/history?to=2026-11-16&recipient=member-a").text
    assert "Cllr member-a" in earlier and "Cllr chair" not in earlier
    bad = app.client.get("/staff/history?from=16/11/2026")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text and "Traceback" not in bad.text


def test_a_preview_is_the_message_a_run_sends_and_records_nothing(app: WebApp) -> None:
    sign_in(app)
    before = rows(app, DELIVERY), rows(app, RUN)  # the sign-in email
    form = app.client.get("/staff/preview")
    assert form.status_code == 200 and 'type="date"' in form.text and "iframe" not in form.text
    page = app.client.get("/staff/preview?schedule=daily&on=2026-11-16&recipient=chair")
    assert page.status_code == 200
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    frame = re.search(r'<iframe class="preview" src="([^"]+)"', page.text)
    assert frame is not None and "sandbox" in page.text
    email = app.client.get("/staff/" + frame.group(1).replace("&amp;", "&"))
    assert email.status_code == 200 and "Children in care" in email.text
    assert "frame-ancestors 'self'" in email.headers["content-security-policy"]
    assert "script-src" not in email.headers["content-security-policy"]
    assert email.headers["x-frame-options"] == "SAMEORIGIN"
    assert (rows(app, DELIVERY), rows(app, RUN)) == before
    sent = send_daily(app)
    assert message_html(sent) == email.text


def send_daily(app: WebApp) -> bytes:
    loaded = load_site(app.site, date(2026, 11, 16), secret=SECRET)
    occurrence = calendar.occurrence_on(loaded.site, loaded.site.schedule("daily"), date(2026, 11, 16))  # type: ignore[arg-type]
    assert occurrence is not None
    asyncio.run(Service(loaded, app.store, transport_for, app.clock).run(occurrence))
    stored = store.stored_message(app.store, delivery_key("daily", "2026-11-16", "chair"))
    assert stored is not None
    return stored.raw


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("schedule=nope&on=2026-11-16", 404, 'no schedule "nope"'),
        ("schedule=daily&on=16-11-2026", 400, "YYYY-MM-DD"),
        ("schedule=daily&on=2026-11-15", 404, "not due on 2026-11-15"),  # a Sunday
        ("schedule=daily&on=2026-11-16&recipient=member-a", 404, "does not receive daily"),
        ("schedule=" + "d" * 101 + "&on=2026-11-16", 400, "at most 100 characters"),
    ],
)
def test_a_preview_that_cannot_be_shown_says_what_to_do(
    app: WebApp, query: str, status: int, says: str
) -> None:
    sign_in(app)
    for path in ("/staff/preview", "/staff/preview/email"):
        response = app.client.get(f"{path}?{query}")
        assert response.status_code == status and says in html.unescape(response.text)
        assert "Traceback" not in response.text


def test_previews_and_the_new_pages_need_a_session(app: WebApp) -> None:
    for path in ("/staff/data", "/staff/answers", "/staff/preview",
                 "/staff/preview/email?schedule=daily&on=2026-11-16"):  # fmt: skip
        assert app.client.get(path).status_code == 401
