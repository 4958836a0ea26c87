"""Was this useful?, themes, view in a browser, and what every response carries."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.delivery import answers
from digest.delivery.store import Store
from digest.site.load import load_site
from digest.web.security import MESSAGE_POLICY, PAGE_POLICY
from tests.web_site import PNG, WebApp, form_token_of, web_site

TRACKER = ("tracker", "social-care:2026-10-31")


@pytest.fixture
def app(tmp_path: Path, store: Store) -> Iterator[WebApp]:
    web = WebApp(web_site(tmp_path / "site"), store)
    web.send("chair", *TRACKER)
    yield web


def feedback_path(app: WebApp, recipient_id: str = "chair") -> str:
    return app.path("feedback", recipient_id=recipient_id, measure=None, schedule=TRACKER)


def test_the_yes_link_shows_the_answer_chosen_and_stores_nothing(app: WebApp) -> None:
    response = app.client.get(feedback_path(app) + "?answer=yes")
    assert response.status_code == 200
    assert 'value="yes" checked' in response.text
    assert "Deep dives: October 2026" in response.text  # the subject of the message
    assert answers.feedback(app.store) == []


def test_an_answer_is_stored_and_a_second_one_replaces_it(app: WebApp) -> None:
    path = feedback_path(app)
    first, second = (form_token_of(app.client.get(path).text) for _ in range(2))
    response = app.client.post(path, data={"form_token": first, "answer": "yes", "comment": "Clear"})
    assert response.status_code == 200 and "useful" in response.text
    app.client.post(path, data={"form_token": second, "answer": "no"})
    [answer] = answers.feedback(app.store)
    assert (answer.schedule_id, answer.recipient_id, answer.useful) == ("tracker", "chair", False)


def test_feedback_refuses_no_answer_an_oversized_comment_and_a_replay(app: WebApp) -> None:
    path = feedback_path(app)
    token = form_token_of(app.client.get(path).text)
    assert app.client.post(path, data={"form_token": token}).status_code == 400
    too_long = {"form_token": token, "answer": "no", "comment": "x" * 501}
    assert app.client.post(path, data=too_long).status_code == 400
    assert app.client.post(path, data={"form_token": token, "answer": "no"}).status_code == 200
    assert app.client.post(path, data={"form_token": token, "answer": "yes"}).status_code == 409
    assert [a.useful for a in answers.feedback(app.store)] == [False]


def test_feedback_of_a_message_never_sent_is_refused(app: WebApp) -> None:
    assert app.client.get(feedback_path(app, "lead")).status_code == 404


def themes_path(app: WebApp) -> str:
    return app.path("themes", recipient_id="chair", measure=None, schedule=TRACKER)


def test_the_themes_page_starts_from_recipients_toml(app: WebApp) -> None:
    response = app.client.get(themes_path(app))
    assert response.status_code == 200
    assert 'value="care" checked' in response.text
    assert 'value="front-door">' in response.text and 'value="workforce">' in response.text


def test_a_choice_of_themes_is_stored_and_overrides_recipients_toml(app: WebApp) -> None:
    path = themes_path(app)
    token = form_token_of(app.client.get(path).text)
    data = {"form_token": token, "theme": ["workforce", "front-door"]}
    response = app.client.post(path, data=data)
    assert response.status_code == 200 and "front door, workforce" in response.text
    [choice] = answers.theme_choices(app.store)
    assert choice.themes == ("front-door", "workforce")
    loaded = answers.with_answers(load_site(app.site, app.now.date()), app.store)
    chair = loaded.site.recipient("chair")
    assert chair is not None and chair.themes == ("front-door", "workforce")
    assert 'value="workforce" checked' in app.client.get(path).text


def test_an_unknown_theme_is_refused(app: WebApp) -> None:
    path = themes_path(app)
    token = form_token_of(app.client.get(path).text)
    response = app.client.post(path, data={"form_token": token, "theme": ["gardening"]})
    assert response.status_code == 400
    assert answers.theme_choices(app.store) == []


def test_view_in_a_browser_shows_the_stored_html_under_its_own_policy(app: WebApp) -> None:
    response = app.client.get(app.path("view", recipient_id="chair", measure=None, schedule=TRACKER))
    assert response.status_code == 200
    assert "Ask for a <b>deep dive</b>." in response.text
    assert "cid:" not in response.text and "data:image/png;base64," in response.text
    assert response.headers["content-security-policy"] == MESSAGE_POLICY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert PNG  # the chart travels inside the page


def test_view_of_a_message_never_sent_is_refused(app: WebApp) -> None:
    path = app.path("view", recipient_id="member-a", measure=None, schedule=TRACKER)
    assert app.client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/healthz", 200), ("GET", "/nowhere", 404), ("POST", "/view/abc", 405),
     ("GET", "/style.css", 200), ("GET", "/themes/abc", 400)],
)  # fmt: skip
def test_every_response_carries_the_security_headers(
    app: WebApp, method: str, path: str, status: int
) -> None:
    response = app.client.request(method, path)
    assert response.status_code == status
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    if path != "/view/abc":
        assert response.headers["content-security-policy"] == PAGE_POLICY
    assert "Traceback" not in response.text


def test_pages_use_no_inline_style_and_post_to_themselves(app: WebApp) -> None:
    page = app.client.get(themes_path(app)).text
    assert "style=" not in page and "<style" not in page
    assert '<form method="post">' in page


def test_the_log_names_the_route_never_the_token(
    app: WebApp, caplog: pytest.LogCaptureFixture
) -> None:
    path = feedback_path(app)
    token = path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="digest.web"):
        app.client.get(path + "?answer=yes")
        app.client.get("/deep-dive/" + token)
    assert "GET /useful/{token} 200" in caplog.text
    assert "GET /deep-dive/{token} 400" in caplog.text
    assert token not in caplog.text and "answer=yes" not in caplog.text
