"""The deep-dive request page: shown by a GET, recorded once by a POST, refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.delivery import answers, store
from digest.delivery.store import Store
from tests.web_site import CLOSES, WebApp, form_token_of, web_site


@pytest.fixture
def app(tmp_path: Path, store: Store) -> Iterator[WebApp]:
    web = WebApp(web_site(tmp_path / "site"), store)
    web.send("member-a")
    yield web


def confirmations(state: Store) -> int:
    return sum(store.counts(state, "deep-dive-request").values())


def test_it_shows_the_measure_the_scorecard_and_the_deadline(app: WebApp) -> None:
    response = app.client.get(app.path("deep-dive"))
    assert response.status_code == 200
    assert "Visits in time" in response.text
    assert "Social care scorecard" in response.text
    assert "31 October 2026" in response.text
    assert "Thursday 19 November 2026" in response.text
    assert 'name="note"' in response.text and 'maxlength="500"' in response.text


def test_a_get_changes_nothing(app: WebApp) -> None:
    app.client.get(app.path("deep-dive"))
    assert answers.requests(app.store) == []
    assert confirmations(app.store) == 0


def test_confirming_records_the_request_and_queues_a_confirmation(app: WebApp) -> None:
    path = app.path("deep-dive")
    token = form_token_of(app.client.get(path).text)
    response = app.client.post(path, data={"form_token": token, "note": "Why did it fall?"})
    assert response.status_code == 200
    assert "is recorded" in response.text
    [request] = answers.requests(app.store)
    assert (request.recipient_id, request.measure, request.note) == (
        "member-a",
        "visits",
        "Why did it fall?",
    )
    assert request.channel == "web" and request.requested_at == app.now
    assert confirmations(app.store) == 1
    key = "deep-dive-request/social-care:2026-10-31:visits/member-a"
    sent = store.stored_message(app.store, key)
    assert sent is not None and b"Why did it fall?" in sent.raw


def test_asking_twice_is_one_request(app: WebApp) -> None:
    path = app.path("deep-dive")
    first, second = (form_token_of(app.client.get(path).text) for _ in range(2))
    app.client.post(path, data={"form_token": first})
    response = app.client.post(path, data={"form_token": second})
    assert response.status_code == 200
    assert "already asked" in response.text
    assert len(answers.requests(app.store)) == 1
    assert confirmations(app.store) == 1
    assert "it is recorded" in app.client.get(path).text  # and no form any more


def test_a_replayed_post_is_refused(app: WebApp) -> None:
    path = app.path("deep-dive")
    token = form_token_of(app.client.get(path).text)
    app.client.post(path, data={"form_token": token})
    response = app.client.post(path, data={"form_token": token})
    assert response.status_code == 409
    assert "already sent" in response.text


@pytest.mark.parametrize(
    "data",
    [{}, {"form_token": ""}, {"form_token": "forged"}, {"note": "no token at all"}],
    ids=["empty", "blank", "forged", "missing"],
)
def test_a_post_without_a_good_form_token_is_refused(app: WebApp, data: dict[str, str]) -> None:
    response = app.client.post(app.path("deep-dive"), data=data)
    assert response.status_code == 400
    assert answers.requests(app.store) == []


def test_a_form_token_of_another_link_is_refused(app: WebApp) -> None:
    other = app.path("deep-dive", measure="re-referrals")
    token = form_token_of(app.client.get(other).text)
    response = app.client.post(app.path("deep-dive"), data={"form_token": token})
    assert response.status_code == 400
    assert "does not belong" in response.text


def test_a_page_left_open_too_long_is_refused(app: WebApp) -> None:
    path = app.path("deep-dive")
    token = form_token_of(app.client.get(path).text)
    app.now += timedelta(hours=3)
    assert app.client.post(path, data={"form_token": token}).status_code == 400


def test_an_oversized_note_is_refused_and_nothing_is_kept(app: WebApp) -> None:
    path = app.path("deep-dive")
    token = form_token_of(app.client.get(path).text)
    response = app.client.post(path, data={"form_token": token, "note": "x" * 501})
    assert response.status_code == 400
    assert "500 characters" in response.text
    assert answers.requests(app.store) == []
    # the form was not used up: the member can shorten the note and send it again
    assert app.client.post(path, data={"form_token": token, "note": "x" * 500}).status_code == 200


@pytest.mark.parametrize("change", ["tampered", "truncated", "garbage"])
def test_a_broken_link_gets_a_plain_400(app: WebApp, change: str) -> None:
    token = app.token("deep-dive")
    broken = {
        "tampered": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "truncated": token[: len(token) // 2],
        "garbage": "not-a-token",
    }[change]
    response = app.client.get(f"/deep-dive/{broken}")
    assert response.status_code == 400
    assert "not valid" in response.text
    assert "Traceback" not in response.text


def test_a_link_for_another_purpose_is_refused(app: WebApp) -> None:
    token = app.token("feedback")
    assert app.client.get(f"/deep-dive/{token}").status_code == 400


def test_an_expired_link_is_refused(app: WebApp) -> None:
    path = app.path("deep-dive", expires=app.now - timedelta(seconds=1))
    response = app.client.get(path)
    assert response.status_code == 410
    assert "expired" in response.text


def test_after_the_deadline_the_page_says_requests_closed(app: WebApp) -> None:
    path = app.path("deep-dive", expires=CLOSES + timedelta(days=30))
    token = form_token_of(app.client.get(path).text)
    app.now = CLOSES
    for response in (app.client.get(path), app.client.post(path, data={"form_token": token})):
        assert response.status_code == 410
        assert "closed at 16:00 on Thursday 19 November 2026" in response.text
    assert answers.requests(app.store) == []


def test_on_deadline_day_requests_close_at_the_deadline_time(app: WebApp) -> None:
    path = app.path("deep-dive", expires=CLOSES + timedelta(days=30))
    app.now = datetime(2026, 11, 19, 15, 59, tzinfo=UTC)  # 15:59 GMT on deadline day
    assert app.client.get(path).status_code == 200
    token = form_token_of(app.client.get(path).text)
    app.now = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    assert app.client.post(path, data={"form_token": token}).status_code == 410
    assert answers.requests(app.store) == []


def test_a_measure_not_in_the_publication_is_refused(app: WebApp) -> None:
    response = app.client.get(app.path("deep-dive", measure="in-care"))  # the daily scorecard
    assert response.status_code == 404
    assert "not one of the scorecard" in response.text


def test_only_recipients_the_invitation_went_to(app: WebApp) -> None:
    response = app.client.get(app.path("deep-dive", recipient_id="lead"))  # never sent to lead
    assert response.status_code == 404


def test_a_recipient_made_inactive_since_is_refused(app: WebApp) -> None:
    path = app.path("deep-dive")
    token = form_token_of(app.client.get(path).text)
    recipients = app.site / "recipients.toml"
    text = recipients.read_text().replace(
        'email = "a@example.gov.uk"', 'email = "a@example.gov.uk"\nactive = false'
    )
    recipients.write_text(text)
    app.start()
    assert app.client.get(path).status_code == 403
    response = app.client.post(path, data={"form_token": token})
    assert response.status_code == 403
    assert "no longer receive" in response.text
    assert answers.requests(app.store) == []


def test_the_stored_requests_join_the_csv_for_reminders_and_summaries(app: WebApp) -> None:
    from digest.site.load import load_site

    path = app.path("deep-dive")
    app.client.post(path, data={"form_token": form_token_of(app.client.get(path).text)})
    loaded = load_site(app.site, app.now.date(), with_observations=False)
    merged = answers.with_answers(loaded, app.store).site.requests
    assert [(r.measure, r.requested_by) for r in merged] == [
        ("visits", "chair"),  # from data/deep_dive_requests.csv
        ("visits", "member-a"),
    ]
    assert answers.with_answers(answers.with_answers(loaded, app.store), app.store).site.requests == merged
