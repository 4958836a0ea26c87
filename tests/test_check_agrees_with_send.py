"""What `send` would skip or fail on, `check` reports first, as FILE:LINE; and `send`
refuses a site that `check` finds problems in, sending nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def main(argv: list[str], now: datetime = NOW) -> int:
    return cli_main(argv, clock=lambda: now)


def check(site: Path, capsys: pytest.CaptureFixture[str], now: datetime = NOW) -> str:
    assert main(["--site", str(site), "check"], now) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "internal error" not in text and "Traceback" not in text
    return text


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("name", ["Cllr\\u2028A", "Cllr\\u0085A", "=?utf-8?q?Cllr_A?="])
def test_a_recipient_name_send_would_skip_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    site = write_site(tmp_path / "site")
    path = site / "recipients.toml"
    path.write_text(path.read_text().replace('name = "Cllr A"', f'name = "{name}"'))
    number = line_of(path, 'id = "member-a"') + 1  # its name
    assert f"recipients.toml:{number}: name " in check(site, capsys)


def test_a_subject_of_several_lines_is_reported_at_its_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    (site / "templates/email/tracker/subject.txt").write_text(
        "{{ content.subject }}\n{{ content.site_name }}\n"
    )
    assert "templates/email/tracker/subject.txt:1: " in check(site, capsys)


def test_an_empty_subject_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site")
    (site / "templates/email/tracker/subject.txt").write_text("")
    assert "templates/email/tracker/subject.txt:1: " in check(site, capsys)


def test_an_empty_html_body_is_reported_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    (site / "templates/email/tracker/body.html").write_text("")
    assert "templates/email/tracker/body.html:1: " in check(site, capsys)


def test_a_misspelt_name_in_a_branch_not_taken_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    path = site / "templates/email/deep-dive-summary/body.txt"
    path.write_text(path.read_text() + "{% if false %}\n{{ contnet.heading }}\n{% endif %}\n")
    number = line_of(path, "contnet")
    assert f"templates/email/deep-dive-summary/body.txt:{number}: " in check(site, capsys)


def test_an_unknown_filter_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    path = site / "templates/email/theme-refresh/body.txt"
    path.write_text("{{ content.heading | shout }}\n" + path.read_text())
    assert "templates/email/theme-refresh/body.txt:1: " in check(site, capsys)


def test_send_refuses_a_site_check_finds_problems_in_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        path = site / "templates/email/tracker/body.html"  # another schedule's template
        path.write_text(path.read_text().replace("content.flagged", "content.flaged", 1))
        assert main(["--site", str(site), "send", "daily", "--on", "2026-11-26"]) == 1
        out = capsys.readouterr()
    assert server.received == []
    assert "templates/email/tracker/body.html:" in out.out + out.err
    assert "internal error" not in out.out + out.err


def test_send_refuses_a_recipient_check_would_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SmtpServer() as server:
        site = send_by_smtp(write_site(tmp_path / "site"), server.port)
        path = site / "recipients.toml"
        path.write_text(path.read_text().replace('name = "Cllr Lead"', 'name = "Cllr\\u2028Lead"'))
        assert main(["--site", str(site), "send", "daily", "--on", "2026-11-26"]) == 1
        out = capsys.readouterr()
    assert server.received == []
    assert "recipients.toml:" in out.out + out.err


def test_a_number_too_long_to_read_in_a_template_is_named_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    path = site / "templates/email/alert/body.html"
    path.write_text(path.read_text() + "\n{{ " + "9" * 5000 + " }}\n")
    number = line_of(path, "9999")
    assert f"templates/email/alert/body.html:{number}: template syntax: a number too long" in check(
        site, capsys
    )


def test_an_internationalised_domain_goes_in_its_ascii_form_and_a_non_ascii_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from email import message_from_bytes, policy

    site = write_site(tmp_path / "site")
    path = site / "recipients.toml"
    path.write_text(path.read_text().replace("chair@example.gov.uk", "chair@münchen.example", 1))
    assert main(["--site", str(site), "check"]) == 0, capsys.readouterr()
    assert main(["--site", str(site), "send", "daily", "--on", "2026-11-26"]) == 0
    (sent,) = [m for p in (site / "outbox").glob("daily_*chair*.eml")
               for m in [message_from_bytes(p.read_bytes(), policy=policy.default)]]  # fmt: skip
    assert "<chair@xn--mnchen-3ya.example>" in str(sent["To"])
    assert "=?" not in sent.as_string().split("\n\n")[0].split("To:")[1].splitlines()[0]
    path.write_text(path.read_text().replace("chair@münchen.example", "jösé@example.gov.uk", 1))
    capsys.readouterr()
    assert main(["--site", str(site), "check"]) == 1
    out = capsys.readouterr().out
    assert "recipients.toml:" in out and "jösé@example.gov.uk" in out
