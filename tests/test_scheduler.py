"""The daemon's decisions, one step at a time, with the clock passed in."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.delivery import store
from digest.delivery.transports import transport_for
from digest.schedule import lease
from digest.schedule.daemon import Daemon, OccurrenceTrigger
from digest.site.load import load_site
from tests.sites import write_site

LONDON = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    """A local London time, aware."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_site(tmp_path: Path, first_day: str) -> Path:
    """The test site with daily data up to the day before the test begins."""
    return write_site(tmp_path / "site", last_day=date.fromisoformat(first_day) - timedelta(days=1))


def start(root: Path, clock: Clock) -> Daemon:
    """A daemon as `digest run` starts one (a restart is another call)."""
    loaded = load_site(root, clock().date())
    assert not loaded.problems
    return Daemon.start(loaded, store.open_store(root), transport_for, clock)


def step(daemon: Daemon, clock: Clock, when: datetime) -> None:
    clock.now = when
    asyncio.run(daemon.step(when))


def sent(root: Path) -> Counter[tuple[str, str]]:
    """(schedule, recipient) of every message in the pickup folder."""
    found: Counter[tuple[str, str]] = Counter()
    for path in (root / "outbox").glob("*.eml"):
        message = message_from_bytes(path.read_bytes())
        schedule = str(message["X-Digest-Key"]).split("/")[0]
        found[schedule, str(message["To"])] += 1
    return found


def alerts(root: Path) -> list[str]:
    subjects = []
    for path in (root / "outbox").glob("alert_*.eml"):
        subjects.append(str(message_from_bytes(path.read_bytes())["Subject"]))
    return subjects


def test_it_fires_the_morning_email_once_at_its_time(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T07:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-11-23T07:00"))
    assert not sent(site)
    step(daemon, clock, at("2026-11-23T07:30:02"))
    step(daemon, clock, at("2026-11-23T07:31"))
    assert sorted(sent(site).values()) == [1, 1]
    assert {schedule for schedule, _ in sent(site)} == {"daily"}


def test_a_daemon_down_from_seven_to_nine_sends_the_0730_email_once_on_restart(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T06:55"))
    step(start(site, clock), clock, at("2026-11-23T06:55"))
    # down at 07:00; back at 09:00
    restarted = start(site, clock)
    step(restarted, clock, at("2026-11-23T09:00"))
    step(restarted, clock, at("2026-11-23T09:05"))
    step(start(site, clock), clock, at("2026-11-23T09:10"))
    assert sent(site) == Counter(
        {
            ("daily", "Cllr Chair <chair@example.gov.uk>"): 1,
            ("daily", "Cllr Lead <lead@example.gov.uk>"): 1,
        }
    )
    assert alerts(site) == []


def test_a_daemon_down_for_two_days_sends_neither_missed_day_and_alerts_once(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T07:00"))
    step(start(site, clock), clock, at("2026-11-23T07:00"))  # Monday, then down
    restarted = start(site, clock)
    step(restarted, clock, at("2026-11-25T06:00"))  # Wednesday before the morning email
    step(restarted, clock, at("2026-11-25T06:05"))
    step(start(site, clock), clock, at("2026-11-25T06:10"))
    assert not [k for k in sent(site) if k[0] == "daily"]
    subjects = alerts(site)
    assert len(subjects) == 1  # one alert, to the one performance officer
    assert "2 scheduled email(s) missed" in subjects[0]
    runs = {
        (r.schedule_id, r.occurrence_key): r.outcome
        for r in store.recent_runs(store.open_store(site))
    }
    assert runs[("daily", "2026-11-23")] == "missed"
    assert runs[("daily", "2026-11-24")] == "missed"


def test_a_new_site_does_not_call_old_occurrences_missed(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-25")
    clock = Clock(at("2026-11-25T06:00"))
    step(start(site, clock), clock, at("2026-11-25T06:00"))
    assert alerts(site) == [] and not sent(site)


@pytest.mark.parametrize(
    "day", ["2026-12-25", "2026-12-28", "2027-01-01", "2027-03-29", "2026-12-29"]
)
def test_nothing_is_sent_on_a_bank_holiday_or_closure(tmp_path: Path, day: str) -> None:
    site = make_site(tmp_path, day)
    clock = Clock(at(f"{day}T07:00"))
    daemon = start(site, clock)
    step(daemon, clock, at(f"{day}T07:00"))
    step(daemon, clock, at(f"{day}T12:00"))
    assert not sent(site)


def test_the_morning_email_fires_once_a_day_across_the_clock_change(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-10-23")
    clock = Clock(at("2026-10-23T07:00"))
    daemon = start(site, clock)
    # every 30 minutes of wall time from Friday to Tuesday, through 25 October
    instant = at("2026-10-23T07:00").astimezone(UTC)
    while instant < at("2026-10-27T12:00").astimezone(UTC):
        step(daemon, clock, instant)
        instant += timedelta(minutes=30)
    days = sorted(
        path.name.split("_")[1]
        for path in (site / "outbox").glob("daily_*.eml")
        if "chair" in path.name
    )
    assert days == ["2026-10-23", "2026-10-26", "2026-10-27"]


def test_a_publication_added_while_running_brings_its_tracker_and_invitation(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, "2026-12-09")
    clock = Clock(at("2026-12-09T08:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-12-09T08:00"))
    with (site / "data/publications.csv").open("a", encoding="utf-8") as handle:
        handle.write("social-care,2026-11-30,2026-12-10,https://example.gov.uk/sc/2026-11\n")
    load_november(site)  # with its data: a publication without them waits (below)
    step(daemon, clock, at("2026-12-10T08:59"))  # notices the row; nothing due yet
    assert not [k for k in sent(site) if k[0] in ("tracker", "invite")]
    step(daemon, clock, at("2026-12-10T09:00:01"))
    assert {k[0] for k in sent(site)} >= {"tracker"}
    assert "invite" not in {k[0] for k in sent(site)}
    step(daemon, clock, at("2026-12-10T10:00:01"))
    counts = Counter(k[0] for k in sent(site))
    assert counts["tracker"] == 3 and counts["invite"] == 3  # chair, lead, member-a


def load_november(site: Path) -> None:
    with (site / "data/observations/monthly.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "re-referrals,2026-11-30,22.5,\nvisits,2026-11-30,95,\ncaseload,2026-11-30,17,\n"
        )


def test_a_publication_waits_for_its_data_and_goes_out_when_they_arrive(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-12-09")
    with (site / "data/publications.csv").open("a", encoding="utf-8") as handle:
        handle.write("social-care,2026-11-30,2026-12-10,https://example.gov.uk/sc/2026-11\n")
    clock = Clock(at("2026-12-10T09:00:01"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-12-10T09:00:01"))
    step(daemon, clock, at("2026-12-10T12:00"))
    assert "tracker" not in {k[0] for k in sent(site)}
    waiting = [a for a in alerts(site) if "is waiting" in a]
    assert len(waiting) == 2  # once for the tracker, once for the invitation
    load_november(site)
    step(daemon, clock, at("2026-12-11T15:00"))  # a day and more after its time
    assert Counter(k[0] for k in sent(site))["tracker"] == 3


def test_a_broken_edit_keeps_the_schedules_running_and_alerts_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T06:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-11-23T06:00"))
    path = site / "schedules.toml"
    path.write_text(
        path.read_text().replace('cron = "30 7 * * mon-fri"', 'cron = "30 7 * * mon-fry"')
    )
    step(daemon, clock, at("2026-11-23T06:01"))
    step(daemon, clock, at("2026-11-23T06:02"))
    assert len(alerts(site)) == 1
    assert "not taken up" in alerts(site)[0]
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert Counter(k[0] for k in sent(site))["daily"] == 2
    # fixed again: picked up, and the next broken edit alerts afresh
    path.write_text(path.read_text().replace("mon-fry", "mon-fri"))
    step(daemon, clock, at("2026-11-23T08:00"))
    assert daemon.bad_config is None


def test_an_edit_of_the_recipients_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T06:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-11-23T06:00"))
    path = site / "recipients.toml"
    path.write_text(
        path.read_text().replace('roles = ["member"]', 'roles = ["member", "chair"]', 1)
    )
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert Counter(k[0] for k in sent(site))["daily"] == 3


def test_only_one_of_two_instances_leads(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T06:00"))
    first, second = start(site, clock), start(site, clock)
    second.holder = "other-host:1"
    step(first, clock, at("2026-11-23T07:30:01"))
    step(second, clock, at("2026-11-23T07:30:02"))
    assert first.leading and not second.leading
    assert sorted(sent(site).values()) == [1, 1]
    lease.release(first.service.store, first.holder)
    step(second, clock, at("2026-11-23T07:31"))
    assert second.leading


def test_the_trigger_wakes_at_the_next_local_time(tmp_path: Path) -> None:
    root = make_site(tmp_path, "2026-11-23")
    site = load_site(root, at("2026-11-23T06:00").date()).site
    trigger = OccurrenceTrigger(site, "daily")
    friday = at("2026-10-23T08:00").astimezone(UTC)
    assert trigger.get_next_fire_time(None, friday) == at("2026-10-26T07:30")
    assert trigger.get_next_fire_time(None, friday).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_an_idle_daemon_leaves_the_mail_server_alone(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-11-23")
    opened: list[str] = []

    def counting_transport(site_config: object) -> object:
        transport = transport_for(site_config)  # type: ignore[arg-type]
        original = transport.open

        async def open_and_count() -> None:
            opened.append("open")
            await original()

        transport.open = open_and_count  # type: ignore[method-assign]
        return transport

    clock = Clock(at("2026-11-23T06:00"))
    loaded = load_site(site, clock().date())
    daemon = Daemon.start(loaded, store.open_store(site), counting_transport, clock)  # type: ignore[arg-type]
    for minute in range(0, 30, 5):
        step(daemon, clock, at(f"2026-11-23T06:{minute:02d}"))
    assert opened == []
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert opened == ["open"]


def test_late_data_is_said_in_the_email_and_alerted_once(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", last_day=date(2026, 11, 21))  # nothing since Saturday
    clock = Clock(at("2026-11-24T06:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-11-24T07:30:01"))
    step(daemon, clock, at("2026-11-24T07:35"))
    subjects = alerts(site)
    assert len(subjects) == 1 and subjects[0].startswith("Daily, 24 November 2026: 2 figures not loaded yet")
    chair = next((site / "outbox").glob("daily_*chair*.eml"))
    body = message_from_bytes(chair.read_bytes())
    text = next(p for p in body.walk() if p.get_content_type() == "text/plain")
    assert "have not arrived" in str(text.get_payload(decode=True), "utf-8")
    assert "not updated" in str(body["Subject"])


@pytest.mark.parametrize("change_day", ["2026-03-29", "2026-10-25", "2027-03-28"])
def test_a_0130_schedule_fires_once_on_a_clock_change_day(tmp_path: Path, change_day: str) -> None:
    day = date.fromisoformat(change_day)
    site = make_site(tmp_path, (day - timedelta(days=1)).isoformat())
    path = site / "schedules.toml"
    path.write_text(
        path.read_text().replace(
            'cron = "30 7 * * mon-fri"\nworking_days_only = true', 'cron = "30 1 * * *"'
        )
    )
    start_at = datetime.combine(day - timedelta(days=1), datetime.min.time(), LONDON).replace(
        hour=22
    )
    clock = Clock(start_at)
    daemon = start(site, clock)
    instant = start_at.astimezone(UTC)
    while instant < start_at.astimezone(UTC) + timedelta(hours=8):
        step(daemon, clock, instant)
        instant += timedelta(minutes=10)
    files = sorted((site / "outbox").glob("daily_*chair*.eml"))
    assert [f.name.split("_")[1] for f in files] == [change_day]
