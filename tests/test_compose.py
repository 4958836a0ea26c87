"""What each digest says and to whom: the content model, before any template."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from digest.email import words as fmt
from digest.email.compose import ID_TOKEN, compose, request_mailto, select_statuses
from digest.model import Recipient
from tests import render_fixtures as fx


def variants_of(schedule, on, statuses, publication=None, site=None, **kwargs):
    site = site or fx.make_site()
    occurrence = fx.occurrence(schedule, on, publication)
    recipients = site.audience(schedule.to)
    return compose(site, occurrence, statuses, recipients, **kwargs)


def test_selection_picks_by_id_theme_or_scorecard_in_the_selection_order():
    statuses = fx.monthly_statuses()
    chosen = select_statuses(statuses, ("early-help", "cp-plans", "children-in-care"))
    assert [s.measure.id for s in chosen] == [
        "eh-days-open",
        "eh-repeat",
        "cp-plans",
        "cla-rate",
        "care-leavers-eet",
    ]
    assert select_statuses(statuses, ()) == statuses


def test_key_indicators_show_only_the_selected_measures_to_one_shared_variant():
    on = date(2026, 11, 26)
    (variant,) = variants_of(fx.KEY_INDICATORS, on, fx.monthly_statuses())
    assert [r.id for r in variant.recipients] == ["cllr-chair", "cllr-lead"]
    shown = [m.id for s in variant.content.sections for m in s.measures]
    assert shown == ["daily-referrals", "daily-cla"]
    assert variant.content.banner == ""


def test_stale_key_indicators_say_so_and_never_pass_as_current():
    on = date(2026, 11, 26)
    (variant,) = variants_of(fx.KEY_INDICATORS, on, fx.daily_statuses(on, stale=True))
    content = variant.content
    assert content.banner == "Today's figures have not arrived: these are from 24 November 2026."
    assert "not updated" in content.subject
    notes = [m.stale_note for s in content.sections for m in s.measures]
    assert notes == ["Not current: the latest figure is for 24 November 2026."] * 2


def test_some_stale_figures_are_counted_in_the_banner():
    on = date(2026, 11, 26)
    current, stale = fx.daily_statuses(on), fx.daily_statuses(on, stale=True)
    (variant,) = variants_of(fx.KEY_INDICATORS, on, [current[0], stale[1]])
    assert variant.content.banner.startswith("Some figures have not arrived: 1 of 2")


def test_tracker_puts_a_members_themes_first_and_groups_the_rest_by_scorecard():
    variants = variants_of(fx.TRACKER, date(2026, 11, 12), fx.monthly_statuses(), fx.SOCIAL_CARE)
    by_member = {r.id: v for v in variants for r in v.recipients}
    sections = by_member["cllr-care"].content.sections
    assert sections[0].title == "Your themes: Children in care"
    assert [m.id for m in sections[0].measures] == ["cla-rate", "care-leavers-eet"]
    assert [s.title for s in sections[1:]] == ["Social Care", "Early Help"]
    plain = by_member["cllr-plain"].content.sections
    assert [s.title for s in plain] == ["Social Care", "Early Help"]


def test_tracker_members_with_the_same_themes_share_one_variant():
    variants = variants_of(fx.TRACKER, date(2026, 11, 12), fx.monthly_statuses(), fx.SOCIAL_CARE)
    groups = sorted(tuple(r.id for r in v.recipients) for v in variants)
    assert groups == [("cllr-care", "cllr-care-2"), ("cllr-chair", "cllr-plain"), ("cllr-safe",)]


def test_tracker_shows_the_periods_published_scorecards_not_the_daily_ones():
    variants = variants_of(fx.TRACKER, date(2026, 11, 12), fx.monthly_statuses(), fx.SOCIAL_CARE)
    content = variants[0].content
    shown = {m.id for s in content.sections for m in s.measures}
    assert "daily-cla" not in shown and "eh-repeat" in shown
    assert [link.url for link in content.links] == [fx.SOCIAL_CARE.url, fx.EARLY_HELP.url]
    assert content.summary == "1 of 6 measures needs attention"


def test_tracker_counts_special_cause_concern_as_needing_attention():
    statuses = [
        replace(s, spc=replace(s.spc, variation="concern")) if s.measure.id == "eh-repeat" else s
        for s in fx.monthly_statuses()
    ]
    variants = variants_of(fx.TRACKER, date(2026, 11, 12), statuses, fx.SOCIAL_CARE)
    assert variants[0].content.summary.startswith("2 of 6 measures need attention")


def test_invite_lists_the_published_scorecards_measures_with_request_links():
    (variant,) = variants_of(
        fx.INVITE,
        date(2026, 11, 12),
        fx.monthly_statuses(),
        fx.SOCIAL_CARE,
        deadline=fx.DEADLINE,
    )
    content = variant.content
    assert content.deadline == "Thursday 19 November 2026"
    measures = [m for s in content.sections for m in s.measures]
    assert {m.status.measure.scorecard for m in measures} == {"social-care"}
    assert all(m.request_url.startswith("mailto:performance@example.gov.uk?") for m in measures)
    assert len(variant.recipients) == 5


def test_request_links_are_url_encoded_and_carry_the_measure_and_period():
    url = request_mailto("performance@example.gov.uk", fx.MEASURES[0], fx.SOCIAL_CARE)
    parts = urlsplit(url)
    assert parts.scheme == "mailto" and parts.path == "performance@example.gov.uk"
    assert " " not in url and "\n" not in url
    query = parse_qs(parts.query)
    assert query["subject"] == ["Deep dive request: cla-rate (Social Care October 2026)"]
    assert f"Requested by: {ID_TOKEN}\r\n" in query["body"][0]
    assert unquote("%0D%0A") in query["body"][0]


def test_reminder_goes_only_to_members_who_have_not_asked_for_this_publication():
    (variant,) = variants_of(
        fx.REMINDER,
        date(2026, 11, 17),
        fx.monthly_statuses(),
        fx.SOCIAL_CARE,
        deadline=fx.DEADLINE,
    )
    # cllr-plain asked only about September's scorecard, so is reminded.
    assert [r.id for r in variant.recipients] == ["cllr-care-2", "cllr-plain"]
    assert variant.content.heading == "Reminder: 2 days left to ask for a deep dive"


def test_reminder_when_everyone_has_asked_is_no_message_at_all():
    site = fx.make_site(recipients=fx.RECIPIENTS[:1])
    variants = variants_of(
        fx.REMINDER,
        date(2026, 11, 17),
        fx.monthly_statuses(),
        fx.SOCIAL_CARE,
        site=site,
        deadline=fx.DEADLINE,
    )
    assert variants == ()


def test_summary_groups_requests_by_measure_with_owner_and_who_asked():
    (variant,) = variants_of(fx.SUMMARY, date(2026, 11, 19), [], fx.SOCIAL_CARE)
    groups = variant.content.request_groups
    assert [(g.measure_id, g.owner) for g in groups] == [
        ("cla-rate", "Dana Officer"),
        ("assessments-45-days", "no owner recorded"),
    ]
    assert groups[0].requesters == (
        "Cllr Jo Carer (13 November 2026)",
        "Cllr Alex Chair (16 November 2026)",
    )
    assert variant.content.summary.startswith("Members made 3 requests for 2 measures:")
    assert [r.id for r in variant.recipients] == ["perf-team", "officer-care", "officer-eh"]


def test_summary_with_no_requests_says_so():
    site = fx.make_site(requests=())
    (variant,) = variants_of(fx.SUMMARY, date(2026, 11, 19), [], fx.SOCIAL_CARE, site=site)
    assert variant.content.summary.startswith("No deep dives were requested:")
    assert variant.content.request_groups == ()


def test_alert_needs_its_alert():
    with pytest.raises(ValueError):
        variants_of(fx.ALERTS, date(2026, 11, 26), [])
    (variant,) = variants_of(fx.ALERTS, date(2026, 11, 26), [], alert=fx.alert())
    assert variant.content.details == fx.alert().details


def test_deep_dive_digests_need_a_publication_and_a_deadline():
    with pytest.raises(ValueError):
        variants_of(fx.INVITE, date(2026, 11, 12), fx.monthly_statuses(), fx.SOCIAL_CARE)
    with pytest.raises(ValueError):
        variants_of(fx.INVITE, date(2026, 11, 12), [], None, deadline=fx.DEADLINE)


def test_missing_values_are_shown_with_their_reason():
    statuses = fx.missing_last(fx.monthly_statuses())
    view = fmt.measure_view(next(s for s in statuses if s.measure.id == "care-leavers-eet"))
    assert view.value == "suppressed (c)"
    assert view.period == "October 2026"
    assert fmt.format_missing(":") == "not available (:)"
    assert fmt.format_missing("z") == "not applicable (z)"


@pytest.mark.parametrize(
    ("measure_id", "value", "shown"),
    [
        ("assessments-45-days", 84.2, "84.2%"),
        ("cla-rate", 67.0, "67.0 per 10,000"),
        ("eh-days-open", 312.0, "312 days"),
        ("cp-plans", 1234.0, "1,234"),
        ("cp-plans", -3.0, "\u22123"),
    ],
)
def test_values_are_formatted_by_unit(measure_id, value, shown):
    measure = next(m for m in fx.MEASURES if m.id == measure_id)
    assert fmt.format_value(value, measure) == shown


def test_changes_in_percentages_are_percentage_points():
    percent = next(m for m in fx.MEASURES if m.unit == "percent")
    assert fmt.format_change(1.26, percent) == "+1.3 pts"
    assert fmt.format_change(-0.5, percent) == "\u22120.5 pts"
    assert fmt.shows_as_zero(0.04, percent)


def test_dates_and_periods_read_naturally():
    assert fmt.format_date(date(2026, 10, 31)) == "31 October 2026"
    assert fmt.format_long_date(date(2026, 11, 19)) == "Thursday 19 November 2026"
    assert fmt.format_period(date(2026, 10, 31), "monthly") == "October 2026"
    assert fmt.format_period(date(2026, 12, 31), "quarterly") == "quarter to December 2026"


def test_rag_is_never_colour_alone():
    for rag in ("green", "amber", "red", "none"):
        label = fmt.rag_label(rag)
        assert label[0] in "\u2714\u25b2\u2716\u2013" and len(label) > 5


def test_a_recipient_with_themes_that_match_nothing_reads_the_plain_tracker():
    odd = Recipient("cllr-odd", "Cllr Odd", "odd@example.gov.uk", ("member",), themes=("x",))
    site = fx.make_site(recipients=(*fx.RECIPIENTS, odd))
    variants = variants_of(
        fx.TRACKER, date(2026, 11, 12), fx.monthly_statuses(), fx.SOCIAL_CARE, site=site
    )
    plain = next(v for v in variants if "cllr-plain" in {r.id for r in v.recipients})
    assert "cllr-odd" in {r.id for r in plain.recipients}
