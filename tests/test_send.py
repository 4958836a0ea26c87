"""`digest send`, `retry` and `status` end to end, to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from email import message_from_bytes
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

MEMBERS = {"chair@example.gov.uk", "lead@example.gov.uk", "a@example.gov.uk"}


NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def main(argv: list[str], now: datetime = NOW) -> int:
    """The CLI with its clock fixed."""
    return cli_main(argv, clock=lambda: now)


def smtp_site(tmp_path: Path, server: SmtpServer) -> Path:
    return send_by_smtp(write_site(tmp_path / "site"), server.port)


def send(site: Path, *args: str) -> int:
    return main(["--site", str(site), "send", *args])


def delivered(server: SmtpServer) -> Counter[str]:
    return Counter(rcpt for message in server.received for rcpt in message.rcpt_tos)


def test_every_recipient_gets_exactly_one_message_and_a_second_send_adds_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
        assert send(site, "tracker", "--on", "2026-11-12") == 0
        first = capsys.readouterr().out
        assert send(site, "tracker", "--on", "2026-11-12") == 0
        second = capsys.readouterr().out
    assert delivered(server) == Counter({address: 1 for address in MEMBERS})
    assert all(len(m.rcpt_tos) == 1 for m in server.received)
    assert "3 new message(s) queued" in first
    assert "nothing new to send: 3 already recorded" in second
    for message in server.received:
        parsed = message_from_bytes(message.data)
        assert parsed["Cc"] is None and parsed["Bcc"] is None
        assert parsed["To"].count("@") == 1


def test_one_refused_recipient_fails_alone_and_raises_one_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        server.handler.refuse("a@example.gov.uk", 550)
        site = smtp_site(tmp_path, server)
        assert send(site, "tracker", "--on", "2026-11-12") == 1
        err = capsys.readouterr().err
        assert send(site, "tracker", "--on", "2026-11-12") == 0
    got = delivered(server)
    assert got["chair@example.gov.uk"] == got["lead@example.gov.uk"] == 1
    assert got["a@example.gov.uk"] == 0
    assert got["perf@example.gov.uk"] == 1  # the alert, once
    assert "failed member-a <a@example.gov.uk>" in err
    alert = next(m for m in server.received if m.rcpt_tos == ("perf@example.gov.uk",))
    assert "could not be delivered" in str(message_from_bytes(alert.data)["Subject"])


def test_a_temporary_refusal_is_retried_later_and_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpServer() as server:
        server.handler.refuse("a@example.gov.uk", 451, times=1)
        site = smtp_site(tmp_path, server)
        assert send(site, "tracker", "--on", "2026-11-12") == 1  # not all delivered yet
        assert delivered(server)["a@example.gov.uk"] == 0
        capsys.readouterr()
        main(["--site", str(site), "status", "--json"])
        status = json.loads(capsys.readouterr().out)
        assert status["deliveries"]["retrying"] == 1
        later = datetime(2026, 11, 26, 9, 2, tzinfo=UTC)  # past the first one-minute backoff
        assert main(["--site", str(site), "retry"], now=later) == 0
    assert delivered(server)["a@example.gov.uk"] == 1


@pytest.mark.parametrize(
    "name", ["=?UTF-8?Q?=0A?=Bcc: x@evil.example", "Cllr =?utf-8?b?QmNjOiB4?= A"]
)
def test_an_encoded_word_in_a_name_is_refused_by_check_and_nothing_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
        path = site / "recipients.toml"
        path.write_text(path.read_text().replace('name = "Cllr A"', f'name = "{name}"'))
        assert send(site, "tracker", "--on", "2026-11-12") == 1
        err = capsys.readouterr().err
    assert 'recipients.toml:16: name contains an encoded-word ("=?...?="): write it plainly' in err
    assert server.received == []


def test_a_name_with_a_line_break_is_refused_by_check_and_nothing_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
        path = site / "recipients.toml"
        path.write_text(
            path.read_text().replace('name = "Cllr A"', 'name = "Name\\nBcc: x@evil.example"')
        )
        assert send(site, "tracker", "--on", "2026-11-12") == 1
        err = capsys.readouterr().err
    assert "recipients.toml:16: name must be on one line" in err
    assert server.received == []


def test_a_dry_run_sends_and_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
        assert send(site, "tracker", "--on", "2026-11-12", "--dry-run") == 0
        out = capsys.readouterr().out
    assert server.received == []
    assert out.count("would send to") == 3
    assert not (site / ".digest").exists()


def test_a_dry_run_after_the_send_says_each_message_was_already_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
        assert send(site, "daily", "--on", "2026-11-26") == 0
        capsys.readouterr()
        assert send(site, "daily", "--on", "2026-11-26", "--dry-run") == 0
        out = capsys.readouterr().out
    assert "would send to" not in out
    assert out.count("would not send to") == 2 and out.count("already sent") == 2
    assert "0 new of 2 message(s)" in out


def test_a_day_a_schedule_is_not_due_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    assert send(site, "daily", "--on", "2026-11-28") == 2  # a Saturday
    assert "not due on 2026-11-28" in capsys.readouterr().err


def test_an_unknown_schedule_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    assert send(site, "weekly") == 2
    assert 'no schedule "weekly"' in capsys.readouterr().err


def test_a_server_that_is_down_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = smtp_site(tmp_path, server)
    # the server has stopped: nothing can be delivered now
    assert send(site, "tracker", "--on", "2026-11-12") == 1
    assert "not delivered yet" in capsys.readouterr().err
    capsys.readouterr()
    main(["--site", str(site), "status", "--json"])
    status = json.loads(capsys.readouterr().out)
    assert status["deliveries"]["pending"] + status["deliveries"]["retrying"] == 3


def test_a_publication_schedule_sends_only_on_its_fire_date_and_says_which_dates_are_due(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    # The day before October's publication: September's tracker is not due again.
    assert send(site, "tracker", "--on", "2026-11-11") == 2
    err = capsys.readouterr().err
    assert '"tracker" is not due on 2026-11-11' in err and "2026-11-12" in err
    assert not list((site / "outbox").glob("*.eml"))
    assert send(site, "tracker", "--on", "2026-11-12") == 0


def test_status_names_who_failed_and_why_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        server.handler.refuse("a@example.gov.uk", 550)
        site = smtp_site(tmp_path, server)
        assert send(site, "tracker", "--on", "2026-11-12") == 1
    capsys.readouterr()
    assert main(["--site", str(site), "status", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    failed = [p for p in problems if p.startswith("failed: tracker")]
    assert len(failed) == 1
    assert "member-a <a@example.gov.uk>" in failed[0] and "550" in failed[0]


def test_status_lists_each_stale_measure_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site", last_day=date(2026, 11, 20))  # nothing since 20 November
    assert main(["--site", str(site), "status", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    stale = [p for p in problems if p.startswith("stale: ")]
    assert {p.split()[1] for p in stale} == {"in-care", "referrals"}
