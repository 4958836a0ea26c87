"""`digest upcoming`: occurrences in local time with their offsets and recipient counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.cli import main as cli_main
from tests.sites import write_site

NOW = datetime(2026, 11, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test site, with the CLI's clock fixed at NOW."""
    return write_site(tmp_path / "site")


def upcoming(
    site: Path, capsys: pytest.CaptureFixture[str], *args: str, now: datetime = NOW
) -> Any:
    assert main(["--site", str(site), "upcoming", *args], now=now) == 0
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in args else out


def daily(day: str, offset: str) -> dict[str, Any]:
    return {
        "schedule": "daily",
        "digest": "key-indicators",
        "at": f"{day}T07:30:00{offset}",
        "recipients": 2,
        "key": day,
        "on": day,
        "publication": None,
    }


def test_json_across_the_october_clock_change_shows_both_offsets(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = upcoming(site, capsys, "--from", "2026-10-22", "--days", "5", "--json")

    assert rows == [
        daily("2026-10-22", "+01:00"),
        daily("2026-10-23", "+01:00"),
        daily("2026-10-26", "+00:00"),  # the weekend has no daily digest
    ]


def test_the_range_ends_at_local_midnight_after_the_last_day(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = upcoming(site, capsys, "--from", "2026-10-22", "--days", "1", "--json")

    assert [row["key"] for row in rows] == ["2026-10-22"]


def test_publication_occurrences_carry_their_publication_and_recipient_counts(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = upcoming(site, capsys, "--from", "2026-11-12", "--days", "8", "--json")

    by_schedule = {row["schedule"]: row for row in rows if row["publication"] is not None}
    assert {s: (r["at"], r["recipients"]) for s, r in by_schedule.items()} == {
        "tracker": ("2026-11-12T09:00:00+00:00", 3),
        "invite": ("2026-11-12T10:00:00+00:00", 3),
        "reminder": ("2026-11-17T09:00:00+00:00", 3),
        "summary": ("2026-11-19T16:00:00+00:00", 2),
    }
    assert by_schedule["tracker"]["key"] == "social-care:2026-10-31"
    assert by_schedule["tracker"]["digest"] == "tracker"
    assert by_schedule["tracker"]["publication"] == {
        "scorecard": "social-care",
        "period_end": "2026-10-31",
        "published_on": "2026-11-12",
        "url": "https://example.gov.uk/sc/2026-10",
    }
    assert len([row for row in rows if row["schedule"] == "daily"]) == 6


def test_inactive_recipients_are_not_counted(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site / "recipients.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('roles = ["member"]', 'roles = ["member"]\nactive = false'), encoding="utf-8"
    )

    rows = upcoming(site, capsys, "--from", "2026-11-12", "--days", "1", "--json")

    assert {row["schedule"]: row["recipients"] for row in rows} == {
        "daily": 2,
        "tracker": 2,
        "invite": 2,
    }


def test_the_table_groups_by_local_day_with_zone_names(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = upcoming(site, capsys, "--from", "2026-10-23", "--days", "4")

    assert out.splitlines() == [
        "Test Commission: due from Friday 23 October 2026 to Monday 26 October 2026 (Europe/London)",
        "",
        "Friday 23 October 2026",
        "  07:30 BST  daily  key-indicators  2 recipients",
        "",
        "Monday 26 October 2026",
        "  07:30 GMT  daily  key-indicators  2 recipients",
    ]


def test_the_table_names_the_publication_an_occurrence_follows(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = upcoming(site, capsys, "--from", "2026-11-19", "--days", "1")

    assert (
        "  16:00 GMT  summary  deep-dive-summary  2 recipients  (social-care for the period "
        "ending 31 October 2026, published 12 November 2026)"
    ) in out.splitlines()


def test_it_says_when_nothing_is_due(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = upcoming(site, capsys, "--from", "2026-12-25", "--days", "2")

    assert out == (
        "Nothing is due from Friday 25 December 2026 to Saturday 26 December 2026 (Europe/London).\n"
    )
    assert upcoming(site, capsys, "--from", "2026-12-25", "--days", "2", "--json") == []


def test_without_from_it_starts_today_in_the_site_timezone(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = upcoming(site, capsys, "--days", "1", "--json")

    assert [row["schedule"] for row in rows] == ["daily", "tracker", "invite"]
    assert {row["on"] for row in rows} == {"2026-11-12"}


def test_a_new_publication_shows_up_as_its_tracker_occurrence(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    december_10 = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert upcoming(
        site, capsys, "--from", "2026-12-10", "--days", "1", "--json", now=december_10
    ) == [daily("2026-12-10", "+00:00")]
    publish = [
        "publish",
        "social-care",
        "--period-end",
        "2026-11-30",
        "--url",
        "https://x.example/nov",
    ]
    assert main(["--site", str(site), *publish], now=december_10) == 0
    capsys.readouterr()

    rows = upcoming(site, capsys, "--from", "2026-12-10", "--days", "1", "--json", now=december_10)

    assert [(row["schedule"], row["at"], row["key"], row["recipients"]) for row in rows] == [
        ("daily", "2026-12-10T07:30:00+00:00", "2026-12-10", 2),
        ("tracker", "2026-12-10T09:00:00+00:00", "social-care:2026-11-30", 3),
        ("invite", "2026-12-10T10:00:00+00:00", "social-care:2026-11-30", 3),
    ]


def main(argv: list[str], now: datetime = NOW) -> int:
    """The CLI with its clock fixed at NOW."""
    return cli_main(argv, clock=lambda: now)
