"""`digest run` on a broken site does not start, and says so to the team, not only to
a service log nobody reads (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def run(site: Path) -> int:
    return cli_main(["--site", str(site), "run"], clock=lambda: NOW)


def alerts(site: Path) -> list[Message]:
    return [message_from_bytes(p.read_bytes(), policy=default)
            for p in sorted((site / "outbox").glob("*.eml"))]  # fmt: skip


def break_a_measure(site: Path) -> None:
    path = site / "data" / "measures.csv"
    path.write_text(path.read_text().replace("in-care,Children in care,daily,count,lower",
                                             "in-care,Children in care,daily,furlongs,lower"))  # fmt: skip


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    return write_site(tmp_path / "site")


def test_a_broken_site_alerts_the_team_with_each_problem_and_exits_1(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    break_a_measure(site)

    assert run(site) == 1

    err = capsys.readouterr().err
    (alert,) = alerts(site)
    assert alert["To"].addresses[0].addr_spec == "perf@example.gov.uk"
    assert alert["Subject"] == "digest run did not start: 1 problem in the site"
    body = alert.get_body(("plain",))
    assert body is not None and "data/measures.csv:2:" in body.get_content()
    assert "data/measures.csv:2:" in err  # and on stderr, for the service log
    assert "the performance team was told" in err
    assert "Traceback" not in err


def test_a_service_manager_restarting_it_sends_the_same_alert_once(site: Path) -> None:
    break_a_measure(site)
    assert run(site) == 1
    assert run(site) == 1  # Restart=always: the same problems, the same day
    assert len(alerts(site)) == 1


def test_an_alert_goes_even_when_the_catalogue_cannot_be_read_at_all(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "data" / "measures.csv").unlink()
    assert run(site) == 1
    (alert,) = alerts(site)
    assert alert["Subject"].startswith("digest run did not start: ")
    assert "the performance team was told" in capsys.readouterr().err


def test_a_broken_site_alerts_by_smtp_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        break_a_measure(site)
        assert run(site) == 1
    (message,) = server.received
    assert list(message.rcpt_tos) == ["perf@example.gov.uk"]
    assert b"digest run did not start" in message.data


def test_a_site_too_broken_to_alert_says_on_stderr_that_no_alert_went_and_why(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "schedules.toml").write_text("[site\nname = ", encoding="utf-8")

    assert run(site) == 1

    err = capsys.readouterr().err
    assert "no alert could be sent" in err
    assert "schedules.toml" in err
    assert "Traceback" not in err and "internal error" not in err
    assert alerts(site) == []


def test_an_alerts_to_that_names_no_one_is_said_to_be_why(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site / "schedules.toml"
    path.write_text(path.read_text().replace('alerts_to = ["role:performance"]',
                                             'alerts_to = ["role:nobody"]'))  # fmt: skip
    assert run(site) == 1
    err = capsys.readouterr().err
    assert "no alert could be sent" in err and "alerts_to" in err
    assert alerts(site) == []
