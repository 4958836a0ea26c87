"""Calendar: cron in the site timezone, working days, publication offsets, deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.calendar import (
    ONCE_A_DAY_MESSAGE,
    WorkingDays,
    cron_fire_time,
    deep_dive_deadline,
    occurrence_on,
    occurrences_between,
    parse_cron,
    publication_fire_time,
    resolve_local,
    validate_cron,
)
from digest.model import DeliveryTable, Publication, Schedule, Site, SiteSettings, Span

LONDON = ZoneInfo("Europe/London")
GMT, BST = timedelta(0), timedelta(hours=1)
WEEK = Span(7, "days")

DAILY = Schedule(
    id="daily-key-indicators",
    digest="key-indicators",
    to=("role:chair",),
    cron="30 7 * * mon-fri",
    working_days_only=True,
)
NIGHTLY = Schedule(id="nightly", digest="key-indicators", to=("role:chair",), cron="30 1 * * *")
TRACKER = Schedule(
    id="monthly-tracker",
    digest="tracker",
    to=("role:member",),
    after="social-care",
    offset=Span(0, "days"),
    at=time(9, 0),
)
REMINDER = Schedule(
    id="deep-dive-reminder",
    digest="deep-dive-reminder",
    to=("role:member",),
    after="social-care",
    before_deadline=Span(2, "working days"),
    at=time(9, 0),
)
OCTOBER = Publication("social-care", date(2026, 10, 31), date(2026, 11, 12), "https://x/oct")
SEPTEMBER = Publication("social-care", date(2026, 9, 30), date(2026, 10, 14), "https://x/sep")
EARLY_HELP = Publication("early-help", date(2026, 10, 31), date(2026, 11, 13), "https://x/eh")


def make_settings(
    holidays: str = "england",
    closures: tuple[date, ...] = (),
    window: Span = WEEK,
) -> SiteSettings:
    return SiteSettings(
        name="Commission",
        timezone="Europe/London",
        holidays=holidays,
        sender="Performance <performance@example.gov.uk>",
        alerts_to=("role:performance",),
        deep_dive_window=window,
        closures=closures,
    )


def make_site(
    *schedules: Schedule,
    publications: tuple[Publication, ...] = (),
    site_settings: SiteSettings | None = None,
) -> Site:
    return Site(
        root=Path("."),
        settings=site_settings or make_settings(),
        delivery=DeliveryTable(),
        recipients=(),
        schedules=schedules,
        measures=(),
        publications=publications,
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON)


def days_from(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def london_offset(day: date) -> timedelta:
    """The UTC offset at 07:30 on a day of 2026-27 (clock changes are at 01:00 UTC)."""
    summer = (date(2026, 3, 29), date(2026, 10, 25)), (date(2027, 3, 28), date(2027, 10, 31))
    return BST if any(start <= day < end for start, end in summer) else GMT


# --- 07:30 on working days through the clock changes ------------------------

EASTER_2026_2027 = {date(2026, 4, 3), date(2027, 3, 26), date(2027, 3, 29)}


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 3, 20), date(2026, 4, 5)),
        (date(2026, 10, 18), date(2026, 11, 1)),
        (date(2027, 3, 20), date(2027, 4, 5)),
    ],
)
def test_a_weekday_schedule_fires_once_per_working_day_at_0730_through_clock_changes(
    first: date, last: date
) -> None:
    site = make_site(DAILY)
    found = occurrences_between(site, midnight(first), midnight(last + timedelta(days=1)))
    expected = [d for d in days_from(first, last) if d.weekday() < 5 and d not in EASTER_2026_2027]
    assert [o.on for o in found] == expected
    for occurrence in found:
        local = occurrence.due.astimezone(LONDON)
        assert occurrence.key == occurrence.on.isoformat()
        assert (local.date(), local.time()) == (occurrence.on, time(7, 30))
        assert occurrence.due.utcoffset() == london_offset(occurrence.on)
    for day in days_from(first, last):
        assert (occurrence_on(site, DAILY, day) is not None) == (day in expected)


def test_the_0730_schedule_moves_in_utc_across_each_clock_change() -> None:
    site = make_site(DAILY)
    instants = {
        o.on: o.due.astimezone(UTC)
        for o in occurrences_between(site, utc(2026, 3, 27), utc(2026, 3, 31))
    }
    assert instants == {
        date(2026, 3, 27): utc(2026, 3, 27, 7, 30),
        date(2026, 3, 30): utc(2026, 3, 30, 6, 30),
    }
    october = occurrences_between(site, utc(2026, 10, 23), utc(2026, 10, 27))
    assert [o.due.astimezone(UTC) for o in october] == [
        utc(2026, 10, 23, 6, 30),
        utc(2026, 10, 26, 7, 30),
    ]


# --- a wall time inside the missing or repeated hour -------------------------


@pytest.mark.parametrize(
    ("change_day", "expected"),
    [
        # 29 March 2026: 01:30 does not exist; fire at 02:00 BST, the first instant after the gap.
        (
            date(2026, 3, 29),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)],
        ),
        # 25 October 2026: 01:30 happens twice; fire at the first, 01:30 BST.
        (
            date(2026, 10, 25),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        (
            date(2027, 3, 28),
            [utc(2027, 3, 27, 1, 30), utc(2027, 3, 28, 1, 0), utc(2027, 3, 29, 0, 30)],
        ),
    ],
)
def test_a_0130_daily_schedule_fires_once_on_each_clock_change_day(
    change_day: date, expected: list[datetime]
) -> None:
    site = make_site(NIGHTLY)
    before, after = change_day - timedelta(days=1), change_day + timedelta(days=2)
    found = occurrences_between(site, midnight(before), midnight(after))
    assert [o.due.astimezone(UTC) for o in found] == expected
    assert [o.key for o in found] == [d.isoformat() for d in days_from(before, after)[:3]]
    assert all(o.due.tzinfo is LONDON for o in found)


@pytest.mark.parametrize(
    ("cron", "day", "expected"),
    [
        ("0 1 * * *", date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),
        ("59 1 * * *", date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),
        ("0 2 * * *", date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),
        ("0 1 * * *", date(2026, 10, 25), utc(2026, 10, 25, 0, 0)),
        ("59 1 * * *", date(2026, 10, 25), utc(2026, 10, 25, 0, 59)),
        ("0 2 * * *", date(2026, 10, 25), utc(2026, 10, 25, 2, 0)),
    ],
)
def test_times_at_the_edges_of_a_clock_change_resolve_to_one_instant(
    cron: str, day: date, expected: datetime
) -> None:
    schedule = Schedule(id="edge", digest="key-indicators", to=(), cron=cron)
    # In UTC: Python never finds a time in a repeated hour equal to one of another zone.
    due = cron_fire_time(schedule, day, LONDON)
    assert due is not None and due.astimezone(UTC) == expected
    site = make_site(schedule)
    found = occurrences_between(site, midnight(day), midnight(day + timedelta(days=1)))
    assert [o.due.astimezone(UTC) for o in found] == [expected]


def test_a_missing_time_in_another_zone_moves_to_the_end_of_its_gap() -> None:
    new_york = ZoneInfo("America/New_York")
    assert resolve_local(date(2026, 3, 8), time(2, 30), new_york) == utc(2026, 3, 8, 7, 0)
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a half-hour change
    resolved = resolve_local(date(2026, 10, 4), time(2, 10), lord_howe)
    assert resolved.astimezone(lord_howe).time() == time(2, 30)


def test_occurrences_compare_instants_not_wall_times_in_the_repeated_hour() -> None:
    site = make_site(NIGHTLY)
    second_0130 = datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON)
    assert occurrences_between(site, second_0130, midnight(date(2026, 10, 26))) == []
    first_0130 = datetime(2026, 10, 25, 1, 30, fold=0, tzinfo=LONDON)
    assert len(occurrences_between(site, first_0130, second_0130)) == 1


# --- working days -------------------------------------------------------------


@pytest.mark.parametrize(
    "day", [date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2027, 3, 29)]
)
def test_nothing_is_sent_on_english_bank_holidays(day: date) -> None:
    site = make_site(DAILY)
    assert occurrence_on(site, DAILY, day) is None
    season = occurrences_between(site, midnight(date(2026, 12, 1)), midnight(date(2027, 4, 30)))
    assert day not in {o.on for o in season}
    assert len(season) > 90


def test_the_scottish_new_year_substitute_is_a_holiday_in_scotland_only() -> None:
    day = date(2027, 1, 4)
    assert not WorkingDays("scotland").is_working_day(day)
    assert WorkingDays("england").is_working_day(day)
    scottish = make_site(DAILY, site_settings=make_settings("scotland"))
    assert occurrence_on(scottish, DAILY, day) is None
    assert occurrence_on(make_site(DAILY), DAILY, day) is not None


def test_each_nation_has_its_own_holidays() -> None:
    assert not WorkingDays("wales").is_working_day(date(2026, 12, 28))
    assert not WorkingDays("northern-ireland").is_working_day(date(2027, 3, 17))
    assert WorkingDays("england").is_working_day(date(2027, 3, 17))
    assert not WorkingDays("england").is_working_day(date(2026, 12, 28))


def test_none_means_weekends_only() -> None:
    none = WorkingDays("none")
    assert none.is_working_day(date(2026, 12, 25))
    assert none.is_working_day(date(2027, 3, 29))
    assert not none.is_working_day(date(2026, 12, 26))
    assert not none.is_working_day(date(2026, 12, 27))


def test_unknown_holidays_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown holidays"):
        WorkingDays("atlantis")


def test_closures_are_not_working_days() -> None:
    closed = make_settings(closures=(date(2026, 12, 29), date(2026, 12, 30)))
    site = make_site(DAILY, site_settings=closed)
    found = occurrences_between(site, midnight(date(2026, 12, 21)), midnight(date(2027, 1, 8)))
    assert [o.on for o in found] == [
        date(2026, 12, 21),
        date(2026, 12, 22),
        date(2026, 12, 23),
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
        date(2027, 1, 7),
    ]


def test_working_day_arithmetic_skips_christmas() -> None:
    workdays = WorkingDays("england")
    assert workdays.add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 29)
    assert workdays.subtract_working_days(date(2026, 12, 29), 2) == date(2026, 12, 23)
    assert workdays.next_working_day(date(2026, 12, 25)) == date(2026, 12, 29)
    assert workdays.next_working_day(date(2026, 12, 24)) == date(2026, 12, 24)
    assert workdays.add_working_days(date(2026, 12, 26), 0) == date(2026, 12, 26)
    assert workdays.add_working_days(date(2026, 12, 29), -2) == date(2026, 12, 23)


def test_a_schedule_on_working_days_needs_the_working_days() -> None:
    with pytest.raises(ValueError, match="working days"):
        cron_fire_time(DAILY, date(2026, 11, 2), LONDON)


# --- deadlines and publication-driven schedules -------------------------------


def test_the_deadline_is_the_publication_date_plus_the_window() -> None:
    assert deep_dive_deadline(OCTOBER, make_settings()) == date(2026, 11, 19)


def test_a_deadline_on_a_weekend_moves_to_monday() -> None:
    friday = Publication("social-care", date(2026, 9, 30), date(2026, 11, 6), "u")
    assert deep_dive_deadline(friday, make_settings(window=Span(8, "days"))) == date(2026, 11, 16)


def test_a_deadline_on_christmas_moves_past_the_holidays_and_closures() -> None:
    published = Publication("social-care", date(2026, 11, 30), date(2026, 12, 18), "u")
    assert deep_dive_deadline(published, make_settings()) == date(2026, 12, 29)
    closed = make_settings(closures=(date(2026, 12, 29), date(2026, 12, 30)))
    assert deep_dive_deadline(published, closed) == date(2026, 12, 31)


def test_a_deadline_window_in_working_days_counts_working_days() -> None:
    published = Publication("social-care", date(2026, 11, 30), date(2026, 12, 21), "u")
    window = make_settings(window=Span(5, "working days"))
    assert deep_dive_deadline(published, window) == date(2026, 12, 30)


def test_an_offset_in_working_days_crosses_christmas() -> None:
    schedule = Schedule(
        id="late", digest="tracker", to=(), after="social-care", offset=Span(2, "working days")
    )
    published = Publication("social-care", date(2026, 11, 30), date(2026, 12, 23), "u")
    due = publication_fire_time(schedule, published, make_settings(), LONDON)
    assert due == utc(2026, 12, 29, 9, 0)


def test_an_offset_in_days_counts_calendar_days_at_the_schedule_time() -> None:
    schedule = Schedule(
        id="later",
        digest="tracker",
        to=(),
        after="social-care",
        offset=Span(3, "days"),
        at=time(16, 45),
    )
    due = publication_fire_time(schedule, OCTOBER, make_settings(), LONDON)
    assert due == datetime(2026, 11, 15, 16, 45, tzinfo=LONDON)


def test_a_publication_schedule_fires_on_publication_day_at_0900_by_default() -> None:
    schedule = Schedule(id="invite", digest="deep-dive-invite", to=(), after="social-care")
    due = publication_fire_time(schedule, OCTOBER, make_settings(), LONDON)
    assert due == datetime(2026, 11, 12, 9, 0, tzinfo=LONDON)
    assert publication_fire_time(schedule, EARLY_HELP, make_settings(), LONDON) is None


def test_before_deadline_counts_back_from_the_deadline() -> None:
    due = publication_fire_time(REMINDER, OCTOBER, make_settings(), LONDON)
    assert due == datetime(2026, 11, 17, 9, 0, tzinfo=LONDON)
    christmas = Publication("social-care", date(2026, 11, 30), date(2026, 12, 18), "u")
    due = publication_fire_time(REMINDER, christmas, make_settings(), LONDON)
    assert due == datetime(2026, 12, 23, 9, 0, tzinfo=LONDON)
    in_days = Schedule(
        id="r",
        digest="deep-dive-reminder",
        to=(),
        after="social-care",
        before_deadline=Span(2, "days"),
    )
    due = publication_fire_time(in_days, christmas, make_settings(), LONDON)
    assert due == datetime(2026, 12, 27, 9, 0, tzinfo=LONDON)


def test_before_deadline_never_fires_before_the_publication() -> None:
    early = Schedule(
        id="r",
        digest="deep-dive-reminder",
        to=(),
        after="social-care",
        before_deadline=Span(10, "working days"),
    )
    due = publication_fire_time(early, OCTOBER, make_settings(), LONDON)
    assert due == datetime(2026, 11, 12, 9, 0, tzinfo=LONDON)


def test_publication_occurrences_are_keyed_by_the_publication() -> None:
    site = make_site(TRACKER, REMINDER, publications=(SEPTEMBER, OCTOBER, EARLY_HELP))
    found = occurrences_between(site, utc(2026, 11, 1), utc(2026, 12, 1))
    assert [(o.schedule.id, o.key, o.on) for o in found] == [
        ("monthly-tracker", "social-care:2026-10-31", date(2026, 11, 12)),
        ("deep-dive-reminder", "social-care:2026-10-31", date(2026, 11, 17)),
    ]
    assert all(o.publication == OCTOBER for o in found)


def test_a_repeated_publication_row_fires_once() -> None:
    again = Publication("social-care", date(2026, 10, 31), date(2026, 11, 20), "https://x/oct2")
    site = make_site(TRACKER, publications=(again, OCTOBER))
    found = occurrences_between(site, utc(2026, 11, 1), utc(2026, 12, 1))
    assert [(o.key, o.publication) for o in found] == [("social-care:2026-10-31", OCTOBER)]


def test_occurrence_on_a_date_runs_the_latest_publication_as_of_that_date() -> None:
    site = make_site(TRACKER, publications=(SEPTEMBER, OCTOBER, EARLY_HELP))
    for day in (date(2026, 11, 12), date(2026, 11, 20)):
        occurrence = occurrence_on(site, TRACKER, day)
        assert occurrence is not None
        assert (occurrence.key, occurrence.on, occurrence.publication) == (
            "social-care:2026-10-31",
            day,
            OCTOBER,
        )
        assert occurrence.due == datetime(2026, 11, 12, 9, 0, tzinfo=LONDON)
    september = occurrence_on(site, TRACKER, date(2026, 11, 11))
    assert september is not None and september.key == "social-care:2026-09-30"
    assert occurrence_on(site, TRACKER, date(2026, 10, 13)) is None


def test_occurrence_on_a_day_a_cron_does_not_fire_is_none() -> None:
    site = make_site(DAILY)
    assert occurrence_on(site, DAILY, date(2026, 11, 28)) is None
    monday = occurrence_on(site, DAILY, date(2026, 11, 30))
    assert monday is not None
    assert (monday.key, monday.on, monday.due) == (
        "2026-11-30",
        date(2026, 11, 30),
        datetime(2026, 11, 30, 7, 30, tzinfo=LONDON),
    )


# --- occurrences_between ------------------------------------------------------


def test_the_range_is_half_open() -> None:
    site = make_site(DAILY)
    at = datetime(2026, 11, 26, 7, 30, tzinfo=LONDON)
    next_day = at + timedelta(days=1)
    assert [o.key for o in occurrences_between(site, at, next_day)] == ["2026-11-26"]
    assert occurrences_between(site, at - timedelta(hours=1), at) == []
    assert [o.key for o in occurrences_between(site, at, at + timedelta(seconds=1))] == [
        "2026-11-26"
    ]


def test_occurrences_of_several_schedules_come_in_due_order() -> None:
    site = make_site(TRACKER, DAILY, NIGHTLY, publications=(OCTOBER,))
    found = occurrences_between(site, midnight(date(2026, 11, 12)), midnight(date(2026, 11, 13)))
    assert [o.schedule.id for o in found] == ["nightly", "daily-key-indicators", "monthly-tracker"]


def test_naive_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        occurrences_between(make_site(DAILY), datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_a_year_of_ten_schedules_lists_every_working_day() -> None:
    schedules = tuple(
        Schedule(
            id=f"s{i}",
            digest="key-indicators",
            to=(),
            cron=f"{i} 7 * * mon-fri",
            working_days_only=True,
        )
        for i in range(10)
    )
    found = occurrences_between(make_site(*schedules), utc(2027, 1, 1), utc(2028, 1, 1))
    assert len(found) == 10 * 253  # 2027: 261 weekdays, 8 English bank holidays
    assert len({(o.schedule.id, o.key) for o in found}) == len(found)


# --- cron ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr", ["0 7,12 * * *", "*/15 7 * * *", "0 7-9 * * mon-fri", "0,30 7 * * *"]
)
def test_a_cron_firing_more_than_once_a_day_is_refused(expr: str) -> None:
    assert validate_cron(expr) == ONCE_A_DAY_MESSAGE


@pytest.mark.parametrize(
    ("expr", "complaint"),
    [
        ("30 7 * *", "five fields"),
        ("60 7 * * *", "minute"),
        ("0 24 * * *", "hour"),
        ("0 7 0 * *", "day of month"),
        ("0 7 * 13 *", "month"),
        ("0 7 * * 8", "day of week"),
        ("0 7 * * fri-mon", "backwards"),
        ("0 7 * * funday", "day of week"),
        ("0 7 * * */0", "step"),
        ("0 7 L * *", "day of month"),
    ],
)
def test_an_invalid_cron_says_what_is_wrong(expr: str, complaint: str) -> None:
    message = validate_cron(expr)
    assert message is not None and complaint in message


@pytest.mark.parametrize(
    "expr", ["30 7 * * mon-fri", "0 9 1 * *", "0 9 * jan,jul 1", "15 6 */2 * *", "0 8 * * 5-7"]
)
def test_a_daily_cron_is_accepted(expr: str) -> None:
    assert validate_cron(expr) is None


def test_cron_fields_support_names_ranges_lists_and_steps() -> None:
    spec = parse_cron("0 9 * jan,jul mon-wed")
    assert spec.matches(date(2026, 1, 5)) and spec.matches(date(2026, 7, 8))
    assert not spec.matches(date(2026, 1, 8)) and not spec.matches(date(2026, 2, 2))
    odd_days = parse_cron("0 9 */2 * *")
    assert odd_days.matches(date(2026, 5, 1)) and not odd_days.matches(date(2026, 5, 2))
    weekend = parse_cron("0 9 * * sat,7")
    assert weekend.weekdays == frozenset({0, 6})
    assert parse_cron("0 9 * * fri-sun").weekdays == frozenset({5, 6, 0})
    assert parse_cron("5/20 9 * * *").minutes == frozenset({5, 25, 45})


def test_cron_with_both_day_fields_fires_on_either_as_cron_does() -> None:
    spec = parse_cron("0 9 1 * mon")
    assert spec.matches(date(2026, 4, 1))  # a Wednesday, the 1st
    assert spec.matches(date(2026, 4, 6))  # a Monday
    assert not spec.matches(date(2026, 4, 7))


def test_a_cron_schedule_fires_at_its_first_time_of_day() -> None:
    twice = Schedule(id="t", digest="key-indicators", to=(), cron="0 12,7 * * *")
    assert cron_fire_time(twice, date(2026, 6, 1), LONDON) == datetime(
        2026, 6, 1, 7, 0, tzinfo=LONDON
    )


# --- properties ----------------------------------------------------------------

NATIONS = st.sampled_from(["england", "wales", "scotland", "northern-ireland", "none"])
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))


@settings(deadline=None)
@given(nation=NATIONS, day=DAYS, n=st.integers(min_value=1, max_value=40))
def test_adding_working_days_lands_on_a_working_day_and_back(
    nation: str, day: date, n: int
) -> None:
    workdays = WorkingDays(nation)
    later = workdays.add_working_days(day, n)
    assert later > day and workdays.is_working_day(later)
    assert workdays.subtract_working_days(later, n) <= day
    if workdays.is_working_day(day):
        assert workdays.subtract_working_days(later, n) == day


CRONS = st.sampled_from(
    ["30 1 * * *", "0 1 * * *", "59 1 * * *", "0 2 * * sun", "30 7 * * mon-fri", "0 0 * * *"]
)


@settings(deadline=None, max_examples=60)
@given(
    cron=CRONS,
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=60 * 24 * 90),
    cut=st.floats(min_value=0, max_value=1),
)
def test_a_cron_schedule_fires_at_most_once_a_day_and_ranges_split_cleanly(
    cron: str, start: datetime, length: int, cut: float
) -> None:
    schedule = Schedule(id="p", digest="key-indicators", to=(), cron=cron, working_days_only=True)
    site = make_site(schedule)
    begin = start.replace(tzinfo=UTC)
    end = begin + timedelta(minutes=length)
    middle = begin + timedelta(minutes=int(length * cut))
    found = occurrences_between(site, begin, end)
    assert len({o.key for o in found}) == len(found)
    assert all(begin <= o.due < end and o.due.astimezone(LONDON).date() == o.on for o in found)
    halves = occurrences_between(site, begin, middle) + occurrences_between(site, middle, end)
    assert halves == found
