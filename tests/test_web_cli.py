"""`check` on [web], `serve` refusing to start, a real `serve`, `answers`, and `request`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.cli.main import main
from digest.delivery import answers
from digest.delivery.answers import StoredFeedback
from digest.delivery.store import open_store
from tests.web_site import SECRET, WEB_TABLE, web_site

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def run(site: Path, *args: str) -> int:
    return main(["--site", str(site), *args], clock=lambda: NOW)


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.delenv("DIGEST_SECRET_KEY", raising=False)
    return web_site(tmp_path / "site")


def with_web(site: Path, table: str) -> Path:
    path = site / "schedules.toml"
    path.write_text(path.read_text().replace(WEB_TABLE, table))
    return site


@pytest.mark.parametrize(
    ("table", "message"),
    [('\n[web]\nbase_url = "http://digest.example.gov.uk"\n', "must start with https://"),
     ('\n[web]\nstaff = ["role:performance"]\n', "base_url"),
     ('\n[web]\nbase_url = "https://x.example"\nsecret_key = "abc"\n', "DIGEST_SECRET_KEY")],
    ids=["http", "no-base-url", "key-in-file"],
)  # fmt: skip
def test_check_refuses_a_web_table_without_an_https_base_url(
    site: Path, table: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(with_web(site, table), "check") == 1
    out = capsys.readouterr().out
    assert "schedules.toml:" in out and message in out


def test_check_accepts_http_to_a_loopback_host(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_web(site, '\n[web]\nbase_url = "http://127.0.0.1:8000"\n')
    assert run(site, "check") == 0, capsys.readouterr().out


@pytest.mark.parametrize(("key", "says"), [(None, "is not set"), ("short", "too short")])
def test_serve_refuses_to_start_without_a_good_key(
    site: Path, key: str | None, says: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    if key:
        monkeypatch.setenv("DIGEST_SECRET_KEY", key)
    assert run(site, "serve") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and err[0].startswith("digest serve: ")


def test_serve_refuses_a_site_without_web(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    assert run(with_web(site, ""), "serve") == 1
    assert "no [web] table" in capsys.readouterr().err


def test_serve_bad_port_is_a_usage_error(site: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        run(site, "serve", "--port", "70000")
    assert exited.value.code == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_health_checks_and_logs_no_token(site: Path, database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "digest.cli", "--site", str(site), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        body = _get(f"http://127.0.0.1:{port}/healthz")
        assert body == "ok\n"
        status = _status(f"http://127.0.0.1:{port}/themes/SECRET-LOOKING-TOKEN")
        assert status == 400
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert "GET /healthz 200" in err and "GET /themes/{token} 400" in err
    assert "SECRET-LOOKING-TOKEN" not in err


def _get(url: str) -> str:
    for _ in range(100):  # up to 20 seconds for the server to listen
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_request_is_kept_in_the_store_and_the_csv(site: Path) -> None:
    assert run(site, "request", "re-referrals", "--by", "member-a") == 0
    assert "re-referrals,member-a,2026-11-16" in (site / "data/deep_dive_requests.csv").read_text()
    state = open_store(site)
    try:
        [kept] = answers.requests(state)
    finally:
        state.close()
    assert (kept.measure, kept.recipient_id, kept.channel) == ("re-referrals", "member-a", "cli")
    assert run(site, "request", "re-referrals", "--by", "member-a") == 0  # once, still
    state = open_store(site)
    assert len(answers.requests(state)) == 1
    state.close()


def test_answers_json_names_recipient_schedule_or_publication_and_when(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(site, "request", "visits", "--by", "lead")
    state = open_store(site)
    answers.record_feedback(state, StoredFeedback("tracker", "social-care:2026-10-31", "chair",
                                                  True, "Clear", NOW))  # fmt: skip
    answers.choose_themes(state, "chair", ("care", "workforce"), NOW)
    state.close()
    capsys.readouterr()
    assert run(site, "answers", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    [request] = report["requests"]
    assert request["recipient"] == "lead" and request["publication"] == "social-care:2026-10-31"
    assert request["measure"] == "visits" and request["at"].startswith("2026-11-16")
    [feedback] = report["feedback"]
    assert (feedback["recipient"], feedback["schedule"], feedback["useful"]) == ("chair", "tracker", True)
    assert report["themes"] == [
        {"recipient": "chair", "themes": ["care", "workforce"], "at": NOW.isoformat()}
    ]
    assert run(site, "answers", "--from", "2026-11-17", "--json") == 0
    later = json.loads(capsys.readouterr().out)
    assert later == {"requests": [], "feedback": [], "themes": []}


def test_answers_text_groups_feedback_by_schedule_and_month(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = open_store(site)
    for recipient, useful in (("chair", True), ("lead", False), ("member-a", True)):
        answers.record_feedback(state, StoredFeedback("tracker", "k", recipient, useful, "", NOW))
    state.close()
    assert run(site, "answers") == 0
    assert "tracker 2026-11: 2 yes, 1 no" in capsys.readouterr().out
