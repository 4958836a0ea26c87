"""Sign-off and the audit through the CLI: held, approved, voided by a data change, history."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from digest.delivery import signoff
from digest.delivery.store import open_store
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

MEMBERS = {"chair@example.gov.uk", "lead@example.gov.uk", "a@example.gov.uk"}
BEFORE = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)  # 08:00 GMT: before the tracker's 09:00
AFTER = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def run(site: Path, now: datetime, *args: str) -> int:
    return cli_main(["--site", str(site), *args], clock=lambda: now)


@pytest.fixture
def server() -> SmtpServer:
    with SmtpServer() as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
         server: SmtpServer) -> Path:  # fmt: skip
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    root = send_by_smtp(write_site(tmp_path / "site", last_day=date(2026, 11, 11)), server.port)
    path = root / "schedules.toml"
    path.write_text(path.read_text().replace(
        'offset = "0 days"\nat = "09:00"',
        'offset = "0 days"\nat = "09:00"\nsign_off = ["role:performance"]',
    ))  # fmt: skip
    return root


def delivered(server: SmtpServer) -> Counter[str]:
    return Counter(rcpt for message in server.received for rcpt in message.rcpt_tos)


def change_a_figure(site: Path) -> None:
    path = site / "data" / "observations" / "monthly.csv"
    text, n = re.subn(r"^visits,2026-10-31,[0-9.]+,", "visits,2026-10-31,71,", path.read_text(),
                      flags=re.MULTILINE)  # fmt: skip
    assert n == 1
    path.write_text(text)


def test_not_approved_by_its_time_it_is_held_and_sent_once_approved(
    site: Path, server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site, AFTER, "send", "tracker", "--on", "2026-11-12") == 0
    out = capsys.readouterr().out
    assert "held, awaiting sign-off" in out and "digest approve tracker" in out
    assert delivered(server) == Counter({"perf@example.gov.uk": 1})  # told, members not
    assert run(site, AFTER, "send", "tracker", "--on", "2026-11-12") == 0
    assert delivered(server) == Counter({"perf@example.gov.uk": 1})  # told once
    assert run(site, AFTER, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    assert "3 new message(s) queued" in capsys.readouterr().out
    assert run(site, AFTER, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    assert run(site, AFTER, "send", "tracker", "--on", "2026-11-12") == 0
    assert delivered(server) == Counter({"perf@example.gov.uk": 1} | dict.fromkeys(MEMBERS, 1))


def test_an_approval_covers_the_figures_approved_and_a_data_change_voids_it(
    site: Path, server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site, BEFORE, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    assert "sent at its time" in capsys.readouterr().out
    assert delivered(server) == Counter()
    change_a_figure(site)
    assert run(site, AFTER, "send", "tracker", "--on", "2026-11-12") == 0
    assert "held" in capsys.readouterr().out
    alert = [m for m in server.received if m.rcpt_tos == ("perf@example.gov.uk",)]
    assert len(alert) == 1 and b"changed since they were approved" in alert[0].data
    assert not MEMBERS & set(delivered(server))
    assert run(site, AFTER, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    assert set(delivered(server)) >= MEMBERS
    state = open_store(site)
    decisions = signoff.decisions(state, "tracker")
    state.close()
    assert [d.action for d in decisions] == ["approved", "approved"]
    assert decisions[0].content_hash != decisions[1].content_hash
    assert {d.by for d in decisions} == {"perf"}


def test_an_approval_before_its_time_lets_it_go_at_its_time(site: Path, server: SmtpServer) -> None:
    assert run(site, BEFORE, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    assert run(site, AFTER, "send", "tracker", "--on", "2026-11-12") == 0
    assert delivered(server) == Counter(dict.fromkeys(MEMBERS, 1))


def test_only_an_approver_may_approve(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(site, AFTER, "approve", "tracker", "--on", "2026-11-12", "--by", "chair") == 2
    assert "may not sign off tracker" in capsys.readouterr().err
    assert run(site, AFTER, "approve", "daily", "--on", "2026-11-26", "--by", "perf") == 2


def test_history_lists_what_each_person_was_sent_with_the_figures(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site, AFTER, "send", "daily", "--on", "2026-11-26") == 0
    assert run(site, AFTER, "approve", "tracker", "--on", "2026-11-12", "--by", "perf") == 0
    capsys.readouterr()
    assert run(site, AFTER, "history", "--recipient", "member-a", "--json") == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["schedule"], e["recipient"], e["state"]) for e in entries] == [
        ("tracker", "member-a", "sent")
    ]
    (entry,) = entries
    assert entry["occurrence"] == "social-care:2026-10-31" and entry["sent_at"]
    assert {f["measure"] for f in entry["figures"]} >= {"visits", "re-referrals"}
    assert run(site, AFTER, "history", "--schedule", "daily", "--json") == 0
    daily = json.loads(capsys.readouterr().out)
    assert {e["recipient"] for e in daily} == {"chair", "lead"}
    assert run(site, AFTER, "history", "--from", "2026-11-27", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(site, AFTER, "history", "--to", "2026-11-26", "--recipient", "chair") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("chair@example.gov.uk" in line for line in lines)


def test_purge_empties_old_messages_then_deletes_old_records_and_status_counts_it(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site, AFTER, "send", "daily", "--on", "2026-11-26") == 0
    path = site / "schedules.toml"
    path.write_text(path.read_text().replace(
        "\n[[schedule]]", '\n[retention]\nmessages = "30 days"\nrecords = "1 year"\n\n[[schedule]]', 1
    ))  # fmt: skip
    later = AFTER + timedelta(days=40)
    assert run(site, later, "purge") == 0
    assert "3 message(s) emptied of their bytes, 0 record(s) deleted" in capsys.readouterr().out
    assert run(site, later, "history", "--json") == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries and not any(e["message_kept"] for e in entries)
    assert all(e["figures"] for e in entries)  # the figures stay with the record
    assert run(site, AFTER + timedelta(days=400), "purge") == 0
    assert "0 message(s) emptied of their bytes, 3 record(s) deleted" in capsys.readouterr().out
    assert run(site, AFTER + timedelta(days=400), "status", "--json") in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["purged"] == {"messages": 3, "records": 3}
