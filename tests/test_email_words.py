"""Direction of travel and variation said together; the assurance said once; why and since."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import tests.render_fixtures as fx
from digest.delivery.outbox import claim, enqueue, record_sent
from digest.delivery.shown import last_sent
from digest.delivery.store import Store
from digest.email.content import figures_json
from digest.email.render import build_messages, why_line
from digest.email.since import changes_since
from digest.email.words import assurance_summary, measure_view, needs_attention, reading
from digest.model import LastSent
from tests.conftest import build_message

CLA, _, ASSESSMENTS = fx.MEASURES[0], fx.MEASURES[1], fx.MEASURES[2]


def cla(change: float, variation: str, direction: str) -> object:
    """Children in care (lower is better), this month against last."""
    base = fx.monthly_statuses()[0]
    return replace(
        base,
        change=change,
        direction=direction,
        spc=replace(base.spc, variation=variation),
    )


def test_better_but_still_a_real_concern_never_reads_as_a_contradiction() -> None:
    words = reading(cla(-1.0, "concern", "improving"))  # type: ignore[arg-type]
    assert words == (
        "Better than last month (\u22121.0 per 10,000), but still a real concern: "
        "unusually high (special cause)."
    )


def test_worse_and_a_real_concern_agree() -> None:
    words = reading(cla(1.0, "concern", "worsening"))  # type: ignore[arg-type]
    assert words.startswith("Worse than last month (+1.0 per 10,000), and a real concern")


def test_a_move_within_normal_variation_is_said_to_be_no_real_change() -> None:
    words = reading(cla(1.0, "common-cause", "worsening"))  # type: ignore[arg-type]
    assert words == "Worse than last month (+1.0 per 10,000): normal variation."


def test_an_improvement_on_a_higher_is_better_measure_is_unusually_high() -> None:
    base = next(s for s in fx.monthly_statuses() if s.measure.id == ASSESSMENTS.id)
    status = replace(base, change=-0.5, direction="worsening",
                     spc=replace(base.spc, variation="improvement"))  # fmt: skip
    assert reading(status) == (
        "Worse than last month (\u22120.5 pts), but still a real improvement: "
        "unusually high (special cause)."
    )


def test_a_previous_value_further_back_is_named_not_called_last_month() -> None:
    status = replace(cla(-1.0, "common-cause", "improving"), previous_period_end=date(2026, 8, 31))  # type: ignore[type-var]
    assert reading(status).startswith("Better than August 2026")  # type: ignore[arg-type]


def test_a_missing_figure_says_so_and_not_normal_variation() -> None:
    status = replace(fx.monthly_statuses()[0], value=None, missing="c")
    assert reading(status) == "No figure for this period: suppressed."
    assert "normal" not in measure_view(status).reading


def test_the_assurance_is_said_once_naming_what_passes_and_fails() -> None:
    statuses = fx.monthly_statuses()
    judged = [
        replace(s, spc=replace(s.spc, assurance=a))
        for s, a in zip(statuses, ["fail", "none", "pass", "inconsistent", "inconsistent", "none"], strict=False)
    ]
    text = assurance_summary(judged)
    assert text.count("Assurance") == 1
    assert f"{statuses[0].measure.title} will consistently miss its target" in text
    assert f"{statuses[2].measure.title} will consistently meet its target" in text
    assert "the other 2 measures with a target may or may not meet it" in text
    assert assurance_summary([replace(s, spc=replace(s.spc, assurance="none")) for s in statuses]) == ""


def test_the_tracker_says_the_assurance_once_not_per_measure() -> None:
    rendered = next(iter(build_messages(fx.make_site(), fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE), fx.monthly_statuses())))
    for body in (rendered.html, rendered.text):
        assert body.count("may or may not meet") <= 1
        assert "Statistical neighbours" in body and "Percentage points" in body  # the glossary


def test_why_names_the_list_that_reaches_the_member() -> None:
    occurrence = fx.occurrence(fx.KEY_INDICATORS, date(2026, 11, 26))
    chair = next(r for r in fx.RECIPIENTS if "chair" in r.roles)
    assert "every chair" in why_line(chair, occurrence)
    rendered = next(iter(build_messages(fx.make_site(), occurrence, fx.daily_statuses(occurrence.on))))
    assert "You receive this email because it goes to every" in rendered.text
    assert "__digest" not in rendered.html and "__digest" not in rendered.text


def shown(statuses: list, **rows: dict[str, object]) -> str:  # type: ignore[type-arg]
    data = json.loads(figures_json(statuses))
    for row in data:
        row.update(rows.get(row["measure"], {}))
    return json.dumps(data)


def test_changes_since_name_newly_red_a_new_signal_and_a_revised_figure() -> None:
    statuses = fx.monthly_statuses()
    now = [replace(statuses[0], rag="red", spc=replace(statuses[0].spc, variation="concern")),
           *statuses[1:]]  # fmt: skip
    period = now[0].period_end.isoformat()  # type: ignore[union-attr]
    before = shown(now, **{CLA.id: {"rag": "amber", "variation": "common-cause",
                                   "value": now[0].value - 1.0, "period_end": period}})  # type: ignore[operator]  # fmt: skip
    (line,) = changes_since(now, before)
    assert line.startswith(f"{CLA.title}: October 2026 revised from ")
    assert "newly red" in line and "a new signal: a real concern" in line
    assert changes_since(now, shown(now)) == ()  # the same figures: nothing to say
    assert changes_since(now, "not json") == ()


def test_members_last_sent_other_figures_get_their_own_since_section() -> None:
    site = fx.make_site()
    occurrence = fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE)
    statuses = fx.monthly_statuses()
    members = [r for r in fx.RECIPIENTS if "member" in r.roles]
    assert len(members) >= 2
    earlier = shown(statuses, **{CLA.id: {"rag": "green", "variation": "common-cause"}})
    last = {members[0].id: LastSent(date(2026, 10, 12), earlier, "social-care:2026-09-30")}
    batch = build_messages(site, occurrence, statuses, last_sent=last)
    by_id = {m.outgoing.recipient.id: m for m in batch}
    told = by_id[members[0].id]
    assert "Since your last digest for September 2026" in told.html
    assert f"{CLA.title}: " in told.text.split("SINCE YOUR LAST DIGEST")[1]
    assert "Since your last digest" not in by_id[members[1].id].html  # new to the schedule


def test_last_sent_is_each_recipients_latest_earlier_occurrence(store: Store) -> None:
    def send(key: str, recipient: str, figures: str) -> None:
        message = replace(build_message(recipient, schedule_id="monthly-tracker", occurrence_key=key),
                          figures=figures)  # fmt: skip
        enqueue(store, [message], fx_now())
        for claimed in claim(store, fx_now(), 10):
            record_sent(store, claimed, fx_now())

    send("social-care:2026-08-31", "cllr-a", '[{"measure":"m","value":1}]')
    send("social-care:2026-09-30", "cllr-a", '[{"measure":"m","value":2}]')
    send("social-care:2026-10-31", "cllr-a", '[{"measure":"m","value":3}]')  # this one: not earlier
    send("social-care:2026-08-31", "cllr-b", '[{"measure":"m","value":9}]')
    occurrence = replace(fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE), key="social-care:2026-10-31")
    found = last_sent(store, occurrence)
    assert found["cllr-a"].figures.endswith('"value":2}]')
    assert found["cllr-a"].occurrence_key == "social-care:2026-09-30"
    assert found["cllr-b"].occurrence_key == "social-care:2026-08-31"
    other = replace(occurrence, schedule=replace(occurrence.schedule, id="another"))
    assert last_sent(store, other) == {}


def fx_now() -> datetime:
    return datetime.now().astimezone()



def test_the_first_thing_after_the_greeting_is_the_frame_then_what_needs_attention() -> None:
    statuses = fx.monthly_statuses()
    rendered = next(iter(build_messages(fx.make_site(), fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE), statuses)))
    html = rendered.html.split("<body", 1)[1]
    frame = html.index("Figures for October 2026, as at 12 November 2026")
    attention = html.index("needs attention")
    first_section = html.index("<h2", attention + 1)
    detail = html.index("In detail: what needs attention")
    assert html.index("Dear ") < frame < attention < first_section < detail
    assert html.index(fx.SOCIAL_CARE.url) < attention  # the published scorecard, at the top


def test_an_alert_is_titled_plainly_and_says_what_to_do() -> None:
    alert = replace(fx.alert(), title="Daily key indicators, 26 November 2026: 2 figures not loaded yet",
                    action="Load the missing figures into the data files.")  # fmt: skip
    occurrence = fx.occurrence(fx.ALERTS, date(2026, 11, 26))
    (rendered,) = list(build_messages(fx.make_site(), occurrence, [], alert=alert))
    assert rendered.outgoing.subject == alert.title  # no "Digest alert:" in front
    for body in (rendered.html, rendered.text):
        assert "What to do:" in body and "Load the missing figures" in body
        assert "digest status" in body


def test_nothing_needs_attention_is_never_said_of_figures_not_current() -> None:
    occurrence = fx.occurrence(fx.KEY_INDICATORS, date(2026, 11, 26))
    stale = fx.daily_statuses(occurrence.on, stale=True)
    assert not any(needs_attention(s) for s in stale)
    rendered = next(iter(build_messages(fx.make_site(), occurrence, stale)))
    assert "Nothing needs attention" not in rendered.html
    assert "not current" in rendered.text.split("Dear", 1)[1][:400]
