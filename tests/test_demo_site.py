"""The demo site at the repository root renders every digest within the email rules."""

from __future__ import annotations

import re
from datetime import date

import pytest

from digest import calendar
from digest.email.render import build_messages
from digest.email.words import needs_attention
from digest.insight import indicators
from digest.site.load import load_site
from tests.sites import REPO

DAYS = {
    "daily-key-indicators": date(2026, 11, 26),
    "monthly-tracker": date(2026, 11, 12),
    "deep-dive-invite": date(2026, 11, 12),
    "deep-dive-reminder": date(2026, 11, 17),
    "deep-dive-summary": date(2026, 11, 19),
}
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?(?:%| per 10,000| days)?")


@pytest.fixture(scope="module")
def loaded():  # type: ignore[no-untyped-def]
    return load_site(REPO, date(2026, 11, 26))


@pytest.mark.parametrize("schedule_id", sorted(DAYS))
def test_every_demo_digest_keeps_the_email_rules(loaded, schedule_id: str) -> None:  # type: ignore[no-untyped-def]
    site = loaded.site
    schedule = site.schedule(schedule_id)
    occurrence = calendar.occurrence_on(site, schedule, DAYS[schedule_id])
    assert occurrence is not None
    statuses = indicators.compute(site.measures, loaded.observations, occurrence.on)
    deadline = (
        calendar.deep_dive_deadline(occurrence.publication, site.settings)
        if occurrence.publication
        else None
    )
    batch = build_messages(site, occurrence, statuses, deadline=deadline)
    messages = list(batch)
    assert messages and not batch.problems
    for rendered in messages:
        assert len(rendered.html.encode("utf-8")) < 100_000  # Gmail clips at 102 KB
        text_figures = set(FIGURE.findall(rendered.text))
        body = re.sub(r"(?s)<head>.*?</head>", " ", rendered.html)
        html_text = re.sub(r"<[^>]+>", " ", body)
        for figure in set(FIGURE.findall(html_text)) - {"0"}:
            assert figure in text_figures or figure.lower() in rendered.text.lower(), figure


def test_a_tracker_of_40_measures_is_a_line_each_with_charts_only_for_attention(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from email import message_from_bytes

    from bench.generate import PUBLISHED_ON, TRACKER, write_send_site

    root = write_send_site(tmp_path / "site", members=3, measures=40)
    loaded = load_site(root, PUBLISHED_ON)
    site = loaded.site
    occurrence = calendar.occurrence_on(site, site.schedule(TRACKER), PUBLISHED_ON)
    statuses = indicators.compute(site.measures, loaded.observations, occurrence.on)
    rendered = next(iter(build_messages(site, occurrence, statuses)))
    assert len(rendered.html.encode("utf-8")) < 90_000
    flagged = [s for s in statuses if needs_attention(s)]
    assert len(re.findall(r'src="cid:', rendered.html)) == len(flagged) > 0
    shown = set(re.findall(r'src="cid:([^"]+)"', rendered.html))
    parts = message_from_bytes(rendered.outgoing.raw).walk()
    attached = {
        str(p["Content-ID"]).strip("<>") for p in parts if p.get_content_maintype() == "image"
    }
    assert shown == attached and shown  # only the charts shown are carried
    for status in statuses:  # the text part keeps every measure in full
        assert status.measure.title in rendered.text
