"""Finished emails: structure, headers, accessibility, escaping and inlining once per variant."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from dataclasses import replace
from datetime import date, time
from email.message import EmailMessage
from html.parser import HTMLParser

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.email import charts, render
from digest.email.render import build_messages
from digest.email.words import needs_attention
from digest.model import Recipient, message_id
from tests import render_fixtures as fx

MORNING = date(2026, 11, 26)


def case(kind: str) -> dict[str, object]:
    """Arguments of build_messages for one digest kind of the fixture site."""
    statuses = fx.missing_last(fx.monthly_statuses())
    occurrences = {
        "key-indicators": (
            fx.occurrence(fx.KEY_INDICATORS, MORNING, at=time(7, 30)),
            fx.daily_statuses(MORNING, stale=True),
        ),
        "tracker": (fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE), statuses),
        "deep-dive-invite": (
            fx.occurrence(fx.INVITE, date(2026, 11, 12), fx.SOCIAL_CARE),
            statuses,
        ),
        "deep-dive-reminder": (
            fx.occurrence(fx.REMINDER, date(2026, 11, 17), fx.SOCIAL_CARE),
            statuses,
        ),
        "deep-dive-summary": (
            fx.occurrence(fx.SUMMARY, date(2026, 11, 19), fx.SOCIAL_CARE),
            statuses,
        ),
        "alert": (fx.occurrence(fx.ALERTS, MORNING), []),
    }
    occurrence, shown = occurrences[kind]
    return {
        "occurrence": occurrence,
        "statuses": shown,
        "deadline": fx.DEADLINE if kind.startswith("deep-dive") else None,
        "alert": fx.alert() if kind == "alert" else None,
    }


def build(kind: str, site=None, **overrides):
    args = case(kind) | overrides
    return build_messages(
        site or fx.make_site(), args.pop("occurrence"), args.pop("statuses"), **args
    )


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class Page(HTMLParser):
    """Visible text, images and tables of an HTML body."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tables: list[dict[str, str | None]] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "head"):
            self.hidden += 1
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "table":
            self.tables.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("style", "title", "head"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.text.append(data)


def page(html: str) -> Page:
    parser = Page()
    parser.feed(html)
    return parser


KINDS = [
    "key-indicators",
    "tracker",
    "deep-dive-invite",
    "deep-dive-reminder",
    "deep-dive-summary",
    "alert",
]
AUDIENCE = {
    "key-indicators": ["cllr-chair", "cllr-lead"],
    "tracker": ["cllr-chair", "cllr-care", "cllr-care-2", "cllr-safe", "cllr-plain"],
    "deep-dive-invite": ["cllr-chair", "cllr-care", "cllr-care-2", "cllr-safe", "cllr-plain"],
    "deep-dive-reminder": ["cllr-care-2", "cllr-plain"],
    "deep-dive-summary": ["perf-team", "officer-care", "officer-eh"],
    "alert": ["perf-team"],
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_one_message_per_recipient(kind):
    batch = build(kind)
    messages = list(batch)
    assert batch.problems == []
    assert sorted(m.outgoing.recipient.id for m in messages) == sorted(AUDIENCE[kind])
    for rendered in messages:
        parsed = parse(rendered.outgoing.raw)
        recipient = rendered.outgoing.recipient
        assert parsed["To"].addresses[0].addr_spec == recipient.email
        assert len(parsed["To"].addresses) == 1
        assert parsed["Cc"] is None and parsed["Bcc"] is None
        assert f"Dear {recipient.name}," in rendered.text


@pytest.mark.parametrize("kind", KINDS)
def test_text_comes_first_then_html_with_its_charts(kind):
    rendered = next(iter(build(kind)))
    parsed = parse(rendered.outgoing.raw)
    if kind == "deep-dive-summary":  # the clinic's invitation follows the bodies
        assert parsed.get_content_type() == "multipart/mixed"
        parsed, invitation = parsed.get_payload()
        assert invitation.get_content_type() == "text/calendar"
    assert parsed.get_content_type() == "multipart/alternative"
    text, second = parsed.get_payload()
    assert text.get_content_type() == "text/plain"
    if second.get_content_type() == "multipart/related":  # charts shown: related to the HTML
        html_part, *images = second.get_payload()
        assert images
    else:  # no chart shown, none attached
        html_part, images = second, []
        assert "cid:" not in rendered.html
    assert html_part.get_content_type() == "text/html"
    assert html_part.get_content().replace("\r\n", "\n").rstrip() == rendered.html.rstrip()
    assert text.get_content().replace("\r\n", "\n").rstrip() == rendered.text.rstrip()
    cids = {part["Content-ID"].strip("<>") for part in images}
    shown = {img["src"].removeprefix("cid:") for img in page(rendered.html).images}
    assert shown == cids
    assert all(part.get_content_type() == "image/png" for part in images)


@pytest.mark.parametrize("kind", KINDS)
def test_html_follows_the_email_rules(kind):
    for rendered in build(kind):
        html = rendered.html
        parsed = page(html)
        assert len(html.encode("utf-8")) < 100_000
        assert '<html lang="en-GB"' in html
        assert not re.search(r"display:\s*(flex|grid)", html)
        assert parsed.tables and all(t.get("role") == "presentation" for t in parsed.tables)
        assert all(img.get("alt") for img in parsed.images)
        assert 'style="' in html  # inlined


NUMBER = re.compile(r"[\u2212+]?\d[\d,]*(?:\.\d+)?%?")


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_in_the_html_is_in_the_text(kind):
    rendered = next(iter(build(kind)))
    visible = " ".join(page(rendered.html).text)
    figures = set(NUMBER.findall(visible))
    assert figures
    assert not {f for f in figures if f not in rendered.text}
    hrefs = re.findall(r'href="(http[^"]+)"', rendered.html)
    assert all(url in rendered.text for url in hrefs)


def test_rag_is_in_words_and_symbols_in_both_parts():
    rendered = next(iter(build("tracker")))
    assert "\u2716 Red: off target" in rendered.text  # in full where set out in detail
    for body in (rendered.html, rendered.text):
        assert "\u2716 Red" in body and "\u2714 Green" in body and "\u25b2 Amber" in body


def test_text_part_is_laid_out_for_a_plain_reader():
    rendered = next(iter(build("tracker")))
    long_lines = [
        line for line in rendered.text.splitlines() if len(line) > 78 and "://" not in line
    ]
    assert long_lines == []
    assert "  Target                  65.0 per 10,000 or less" in rendered.text


def test_stale_key_indicators_carry_the_banner_in_both_parts():
    rendered = next(iter(build("key-indicators")))
    banner = "Today's figures have not arrived: these are from 24 November 2026."
    assert banner in rendered.text
    assert banner.replace("'", "&#39;") in rendered.html or banner in rendered.html


def test_the_deadline_and_request_links_are_in_the_invite():
    rendered = next(iter(build("deep-dive-invite")))
    assert "Thursday 19 November 2026" in rendered.html
    links = re.findall(r'href="(mailto:[^"]+)"', rendered.html)
    assert links and all("&amp;body=" in link for link in links)
    recipient = rendered.outgoing.recipient.id
    assert f"Requested%20by%3A%20{recipient}" in links[0]
    assert links[0].replace("&amp;", "&") in rendered.text


def test_headers_say_who_sent_it_and_which_delivery_it_is():
    rendered = next(iter(build("tracker")))
    parsed = parse(rendered.outgoing.raw)
    key = "monthly-tracker/social-care:2026-10-31/cllr-chair"
    assert rendered.outgoing.delivery_key == key
    assert parsed["X-Digest-Key"] == key
    assert parsed["Message-ID"] == message_id(key, "example.gov.uk")
    assert parsed["From"].addresses[0].addr_spec == "performance@example.gov.uk"
    assert parsed["Reply-To"] == "performance@example.gov.uk"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Subject"] == rendered.outgoing.subject
    assert parsed["Date"].datetime.isoformat() == "2026-11-12T09:00:00+00:00"


def test_message_ids_are_stable_across_builds():
    first = [m.outgoing.message_id for m in build("tracker")]
    second = [m.outgoing.message_id for m in build("tracker")]
    assert first == second and len(set(first)) == len(first)


def test_figures_record_what_the_message_showed():
    rendered = next(iter(build("tracker")))
    figures = json.loads(rendered.outgoing.figures)
    cla = next(f for f in figures if f["measure"] == "cla-rate")
    assert cla["rag"] == "red" and cla["period_end"] == "2026-10-31"
    assert cla["variation"] == "concern"


def test_the_greeting_is_escaped_in_html_and_plain_in_text():
    lead = next(m for m in build("key-indicators") if m.outgoing.recipient.id == "cllr-lead")
    assert "Dear Cllr Sam O&#x27;Lead," in lead.html
    assert "Dear Cllr Sam O'Lead," in lead.text
    assert "__digest_" not in lead.html + lead.text


def test_a_measure_title_is_escaped_in_html():
    evil = replace(fx.MEASURES[6], title="<script>alert(1)</script>")
    site = fx.make_site(measures=(evil, *fx.MEASURES[7:]))
    statuses = [
        replace(s, measure=evil) if s.measure.id == evil.id else s
        for s in fx.daily_statuses(MORNING)
    ]
    rendered = next(iter(build("key-indicators", site=site, statuses=statuses)))
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text


def test_a_template_typo_fails_loudly(tmp_path):
    shutil.copytree(fx.TEMPLATES, tmp_path / "email")
    body = tmp_path / "email" / "alert" / "body.html"
    body.write_text(body.read_text().replace("content.details", "content.detials"))
    with pytest.raises(jinja2.UndefinedError):
        list(build("alert", template_dir=tmp_path / "email"))


def test_css_is_inlined_once_per_variant_not_per_recipient(monkeypatch):
    members = tuple(
        Recipient(
            f"cllr-{i}",
            f"Cllr {i}",
            f"m{i}@example.gov.uk",
            ("member",),
            themes=("children-in-care",) if i % 2 else ("safeguarding",),
        )
        for i in range(8)
    )
    calls = []
    inline = render.inline_css
    monkeypatch.setattr(render, "inline_css", lambda html: calls.append(1) or inline(html))
    messages = list(build("tracker", site=fx.make_site(recipients=members)))
    assert len(messages) == 8
    assert len(calls) == 2


def test_each_chart_is_drawn_once_per_digest(monkeypatch):
    drawn = []
    draw = charts.chart_for
    monkeypatch.setattr(charts, "chart_for", lambda s: drawn.append(s.measure.id) or draw(s))
    messages = list(build("tracker"))
    assert sorted(drawn) == sorted(set(drawn))
    flagged = {s.measure.id for s in fx.monthly_statuses() if needs_attention(s)}
    assert set(drawn) == flagged and flagged  # only what needs attention gets a chart
    assert all(f"chart-{m}-" in messages[0].html for m in flagged)


def test_charts_are_small_pngs_described_in_words():
    status = fx.monthly_statuses()[0]
    chart = charts.chart_for(status)
    assert chart is not None
    assert chart.png.startswith(b"\x89PNG") and len(chart.png) < 8_000
    assert chart.alt == (
        "Chart of the last 24 months, November 2024 to October 2026: latest 68.9 per 10,000, "
        "mean 63.0 per 10,000, process limits 58.0 per 10,000 to 68.0 per 10,000, "
        "target 65.0 per 10,000 or less; latest point a special cause \u2014 concern."
    )
    assert charts.chart_for(replace(status, history=status.history[:1])) is None


@pytest.mark.parametrize(
    "name",
    [
        "Cllr Evil\nBcc: x@evil.example",
        "=?UTF-8?Q?=0A?=Bcc: x@evil.example",
        "Cllr Evil\rBcc: x@evil.example",
    ],
)
def test_header_injection_is_refused_and_reported_without_stopping_others(name):
    evil = Recipient("cllr-evil", name, "evil@example.gov.uk", ("chair",))
    site = fx.make_site(recipients=(evil, *fx.RECIPIENTS))
    batch = build("key-indicators", site=site)
    messages = list(batch)
    assert [p.recipient_id for p in batch.problems] == ["cllr-evil"]
    assert "cllr-evil" in str(batch.problems[0])
    assert sorted(m.outgoing.recipient.id for m in messages) == ["cllr-chair", "cllr-lead"]
    for m in messages:
        assert b"\nBcc:" not in m.outgoing.raw and b"evil.example" not in m.outgoing.raw


def test_a_subject_with_a_line_break_is_refused_for_everyone():
    bad = replace(fx.alert(), title="Stale data\nBcc: x@evil.example")
    batch = build("alert", alert=bad)
    assert list(batch) == []
    assert [p.recipient_id for p in batch.problems] == ["perf-team"]


def test_recipient_ids_restrict_the_batch():
    batch = build("tracker", recipient_ids=["cllr-safe"])
    assert [m.outgoing.recipient.id for m in batch] == ["cllr-safe"]


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("kind", KINDS)
def test_text_colours_meet_wcag_aa_contrast_on_their_backgrounds(kind):
    rendered = next(iter(build(kind)))
    pairs = set()
    for style in re.findall(r'style="([^"]*)"', rendered.html):
        fg = re.search(r"(?:^|;)\s*color:\s*(#[0-9a-fA-F]{6})", style)
        bg = re.search(r"background-color:\s*(#[0-9a-fA-F]{6})", style)
        if fg and bg:
            pairs.add((fg.group(1), bg.group(1)))
    assert pairs
    for fg, bg in pairs:
        light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (fg, bg)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85\u2028\u2029"), min_size=1, max_size=120).map(str.strip).filter(bool))
def test_the_to_header_reads_back_as_the_name_and_address_and_folds_short(name: str) -> None:
    header = render.to_header(Recipient("r", name, "r.x@example.gov.uk", ()))
    parsed = email.message_from_bytes(header + b"Subject: s\r\n\r\nbody\r\n", policy=email.policy.default)
    (address,) = parsed["To"].addresses
    assert address.addr_spec == "r.x@example.gov.uk"
    # Readers may add a space where a long name was split into several encoded-words.
    assert "".join(address.display_name.split()) == "".join(name.split())
    assert header.isascii() and header.endswith(b"\r\n")
    assert all(len(line) <= 78 for line in header.split(b"\r\n"))
