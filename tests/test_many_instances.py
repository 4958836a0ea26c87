"""Three `digest run` on one PostgreSQL, one with its clock 15 minutes behind: the leader
SIGKILLed and another SIGSTOPped past its heartbeat mid-send, then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.crash_site import big_site
from tests.smtp_server import SmtpServer

MEMBERS = 2000
REPO = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")
# Short heartbeats so the test takes seconds, not minutes; the code paths are the same.
# The leader's lease outlasts the test: one leader fires the occurrence, once.
FAST = {"DIGEST_LEADER_LEASE_SECONDS": "30", "DIGEST_HEARTBEAT_SECONDS": "4",
        "DIGEST_DB_IDLE_IN_TRANSACTION_MS": "3000"}  # fmt: skip


def _site(root: Path, port: int) -> Path:
    """Every member gets the daily email, due two minutes ago (caught up at once)."""
    due = datetime.now(LONDON) - timedelta(minutes=2)
    site = big_site(root, port, MEMBERS)
    path = site / "schedules.toml"
    text = path.read_text().replace(
        'to = ["role:chair", "role:lead-member"]\ncron = "30 7 * * mon-fri"\nworking_days_only = true',
        f'to = ["role:member", "role:chair", "role:lead-member"]\ncron = "{due.minute} {due.hour} * * *"',
    )
    path.write_text(text)
    return site


def _run(site: Path, env: dict[str, str], log: Path, skew: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "digest.cli", "--site", str(site), "run"]
    if skew is not None:
        command = ["faketime", "-f", skew, *command]
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)


def _wait(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_three_instances_a_kill_a_stop_and_a_skewed_clock_send_everyone_once(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one PostgreSQL")
    env = {**os.environ, **FAST, "PYTHONPATH": str(REPO), "DIGEST_DATABASE_URL": database_url}
    logs = [tmp_path / f"run{n}.log" for n in range(3)]
    with SmtpServer() as server:
        site = _site(tmp_path / "site", server.port)
        runs = [_run(site, env, logs[n], "-15m" if n == 2 else None) for n in range(3)]
        try:
            _wait(lambda: len(server.received) >= MEMBERS // 5, 60)
            leads = [n for n in range(3) if b"caught up daily" in logs[n].read_bytes()]
            assert len(leads) == 1, [log.read_text() for log in logs]
            killed = leads[0]
            runs[killed].send_signal(signal.SIGKILL)
            stopped = 2 if killed != 2 else 1  # the skewed one, unless it led
            _wait(lambda: len(server.received) >= MEMBERS // 2, 60)
            runs[stopped].send_signal(signal.SIGSTOP)
            time.sleep(6)  # past its heartbeat: the other takes its claims
            runs[stopped].send_signal(signal.SIGCONT)
            _wait(lambda: len({m.rcpt_tos[0] for m in server.received}) >= MEMBERS + 2, 60)
            time.sleep(2)  # anything more that would go out
        finally:
            for run in runs:
                run.send_signal(signal.SIGCONT)
                run.send_signal(signal.SIGTERM)
            for run in runs:
                run.wait(timeout=30)
        copies: dict[str, list[str]] = defaultdict(list)
        for message in server.received:
            (rcpt,) = message.rcpt_tos
            copies[rcpt].append(message.message_id)
    members = {f"member{n:04d}@example.gov.uk" for n in range(MEMBERS)}
    assert members | {"chair@example.gov.uk", "lead@example.gov.uk"} <= set(copies)
    duplicated = {rcpt: ids for rcpt, ids in copies.items() if len(ids) > 1}
    assert len(duplicated) <= 2, duplicated  # one per killed or stopped process at most
    for ids in duplicated.values():
        assert len(ids) == 2 and ids[0] == ids[1]  # same Message-ID
