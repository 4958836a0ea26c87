"""Mail that cannot go at all is recognised: status names it and exits 1, send says what
to fix, nothing is marked failed, and `check --smtp` tries the server without sending."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from digest.delivery.store import counts, open_store
from tests.crash_site import big_site
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

MORNING = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


def main(site: Path, *args: str) -> int:
    return cli_main(["--site", str(site), *args], clock=lambda: MORNING)


def states(site: Path) -> dict[str, int]:
    store = open_store(site)
    try:
        return {k: v for k, v in counts(store).items() if v}
    finally:
        store.close()


def test_a_refused_sender_holds_everything_and_status_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        server.handler.sender_refusal = "550 5.7.1 sender not allowed to relay"
        assert main(site, "send", "daily", "--on", "2026-11-26") == 1
        err = capsys.readouterr().err
        assert "refuses the sender" in err and "check --smtp" in err
        assert states(site) == {"pending": 2}  # nothing failed for good: all of it waits
        assert main(site, "status") == 1
        out = capsys.readouterr().out
        assert "nothing can be delivered since" in out and "550" in out and "2 message(s) waiting" in out
        server.handler.sender_refusal = None
        assert main(site, "retry") == 0
        assert states(site) == {"sent": 2}
        assert len(server.received) == 2
        capsys.readouterr()
        assert main(site, "status") == 0
        assert "nothing can be delivered" not in capsys.readouterr().out


def test_starttls_to_a_server_without_it_is_named_not_left_pending_in_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        path = site / "schedules.toml"
        path.write_text(path.read_text().replace('security = "none"', 'security = "starttls"'))
        assert main(site, "send", "daily", "--on", "2026-11-26") == 1
        assert "not delivered yet" in capsys.readouterr().err
        assert main(site, "status") == 1
        assert "nothing can be delivered" in capsys.readouterr().out
        assert server.received == []


def test_check_smtp_tries_the_server_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        assert main(site, "check", "--smtp") == 0
        assert "delivery: smtp works" in capsys.readouterr().err
        server.handler.sender_refusal = "553 5.7.1 sender rejected"
        assert main(site, "check", "--smtp") == 1
        out = capsys.readouterr().out
        assert out.startswith("schedules.toml:") and "refuses the sender" in out and "553" in out
        assert server.received == []


def test_send_exits_1_while_messages_still_retry_and_a_resumed_send_says_what_it_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        server.handler.refuse("chair@example.gov.uk", 451, times=1)  # try again later, once
        assert main(site, "send", "daily", "--on", "2026-11-26") == 1
        assert "1 message(s) still retrying" in capsys.readouterr().err
        assert states(site) == {"sent": 1, "retrying": 1}
        store = open_store(site)
        try:  # the retry is due now
            with store.transaction() as connection:
                connection.exec_driver_sql("UPDATE delivery SET next_attempt_at = created_at")
        finally:
            store.close()
        assert main(site, "send", "daily", "--on", "2026-11-26") == 0
        out = capsys.readouterr().out
        assert "nothing new queued (2 already recorded); sent 1 that were waiting" in out
        assert states(site) == {"sent": 2}


def test_a_server_refusing_every_message_at_data_fails_no_one_for_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = big_site(tmp_path / "site", server.port, 10)
        server.handler.data_refusal = "554 5.7.1 message rejected by policy"
        assert main(site, "send", "tracker", "--on", "2026-11-12") == 1
        err = capsys.readouterr().err
        assert "refuses every message at DATA" in err and "554" in err
        found = states(site)
        assert "failed" not in found, found  # nobody is given up on for the server's refusal
        assert found.get("retrying") == 2 and sum(found.values()) == 13, found
        assert main(site, "status") == 1
        assert "refuses every message at DATA" in capsys.readouterr().out
        server.handler.data_refusal = None
        assert main(site, "retry") == 0  # plain retry: the retrying ones too, now
        assert states(site) == {"sent": 13}
        assert len(server.received) == 13


def test_a_refusal_at_data_after_the_server_took_others_is_that_message_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = big_site(tmp_path / "site", server.port, 10)
        handler = server.handler
        original = handler.handle_DATA

        async def refuse_one(srv: object, session: object, envelope: object) -> str:
            if "member0005@example.gov.uk" in envelope.rcpt_tos:  # type: ignore[attr-defined]
                return "554 5.6.0 content rejected"
            return await original(srv, session, envelope)

        handler.handle_DATA = refuse_one  # type: ignore[method-assign]
        assert main(site, "send", "tracker", "--on", "2026-11-12") == 1
        assert states(site) == {"sent": 13, "failed": 1}  # 12 members and the alert
        capsys.readouterr()
