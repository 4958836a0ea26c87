"""A publication-triggered digest waits for its period's data, and never shows last
period's figures under this period's title."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from tests.sites import write_site

PUBLISHED = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def main(site: Path, now: datetime, *args: str) -> int:
    return cli_main(["--site", str(site), *args], clock=lambda: now)


def november_published(tmp_path: Path) -> Path:
    """October is the latest month loaded; November's scorecard is published on 10 December."""
    site = write_site(tmp_path / "site", last_day=date(2026, 12, 10))
    with (site / "data" / "publications.csv").open("a", encoding="utf-8") as out:
        out.write("social-care,2026-11-30,2026-12-10,https://example.gov.uk/sc/2026-11\n")
    return site


def sent(site: Path) -> list[Message]:
    return [message_from_bytes(p.read_bytes()) for p in sorted((site / "outbox").glob("*.eml"))]


def test_it_waits_for_the_period_data_and_alerts_the_team_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = november_published(tmp_path)
    assert main(site, PUBLISHED, "send", "tracker", "--on", "2026-12-10") == 1
    assert "waiting for the period's data of 3 measure(s)" in capsys.readouterr().err
    assert main(site, PUBLISHED, "send", "tracker", "--on", "2026-12-10") == 1
    messages = sent(site)
    assert [m["To"] for m in messages] == ["Performance Officer <perf@example.gov.uk>"]
    assert "is waiting: 3 Social Care figures for November 2026 not loaded yet" in str(messages[0]["Subject"])


def test_it_goes_out_as_soon_as_the_data_arrive(tmp_path: Path) -> None:
    site = november_published(tmp_path)
    assert main(site, PUBLISHED, "send", "tracker", "--on", "2026-12-10") == 1
    with (site / "data" / "observations" / "monthly.csv").open("a", encoding="utf-8") as out:
        out.write("re-referrals,2026-11-30,22.5,\nvisits,2026-11-30,95,\ncaseload,2026-11-30,17,\n")
    later = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    assert main(site, later, "send", "tracker", "--on", "2026-12-10") == 0
    assert len(sent(site)) == 1 + 3  # the alert, then one tracker per member


def test_after_the_wait_it_is_sent_with_the_missing_measures_marked_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = november_published(tmp_path)
    after_wait = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)  # 3 working days on
    out = tmp_path / "preview"
    args = (
        "preview",
        "tracker",
        "--on",
        "2026-12-10",
        "--recipient",
        "member-a",
        "--out",
        str(out),
    )
    assert main(site, after_wait, *args) == 0
    text = next(out.glob("*.txt")).read_text(encoding="utf-8")
    assert "PERFORMANCE TRACKER: NOVEMBER 2026" in text
    assert text.count("no data (November 2026)") == 3  # not October's figures


def test_publish_check_and_status_say_the_period_data_are_not_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site", last_day=date(2026, 12, 10))
    url = "https://example.gov.uk/sc/2026-11"
    publish = ("publish", "social-care", "--period-end", "2026-11-30", "--url", url)
    assert main(site, PUBLISHED, *publish, "--on", "2026-12-10") == 0
    assert "Not loaded yet: social-care for 2026-11-30" in capsys.readouterr().out
    assert main(site, PUBLISHED, "check") == 0  # a state to know of, not a bad edit
    assert "note: social-care for 2026-11-30 is published, but" in capsys.readouterr().out
    assert main(site, PUBLISHED, "status", "--json") == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any(p.startswith("waiting for data: social-care") for p in problems)
