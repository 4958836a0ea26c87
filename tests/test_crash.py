"""A `digest send` killed with SIGKILL mid-run, then resumed: everyone once, at most one duplicate."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from tests.crash_site import big_site
from tests.smtp_server import SmtpServer

MEMBERS = 2000
REPO = Path(__file__).resolve().parent.parent


def send(site: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--site", str(site), "send", "tracker", "--on", "2026-11-12"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_a_send_killed_mid_run_is_finished_by_the_next_with_at_most_one_duplicate(
    tmp_path: Path,
) -> None:
    with SmtpServer() as server:
        site = big_site(tmp_path / "site", server.port, MEMBERS)
        first = send(site)
        deadline = time.monotonic() + 120
        while len(server.received) < MEMBERS // 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        at_kill = len(server.received)
        status = subprocess.run(
            [sys.executable, "-m", "digest.cli", "--site", str(site), "status", "--json"],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        shown = [r["outcome"] for r in json.loads(status.stdout)["runs"] if r["schedule"] == "tracker"]
        assert shown == ["interrupted"], status.stdout  # its process is gone: not "running"
        assert any(p.startswith("interrupted: tracker") for p in json.loads(status.stdout)["problems"])
        assert status.returncode == 1
        second = send(site)
        output, _ = second.communicate(timeout=300)
        assert second.returncode == 0, output
        with sqlite3.connect(site / ".digest/state.db") as db:
            outcomes = [o for (o,) in db.execute(
                "SELECT outcome FROM run WHERE schedule_id = 'tracker' ORDER BY id")]  # fmt: skip
        assert outcomes == ["interrupted", "ok"]
        copies: dict[str, list[str]] = defaultdict(list)
        for message in server.received:
            (rcpt,) = message.rcpt_tos
            copies[rcpt].append(message.message_id)
    expected = {f"member{n:04d}@example.gov.uk" for n in range(MEMBERS)}
    expected |= {"chair@example.gov.uk", "lead@example.gov.uk", "a@example.gov.uk"}
    assert 0 < at_kill < len(expected), "the kill must land mid-run"
    assert set(copies) == expected
    duplicated = {rcpt: ids for rcpt, ids in copies.items() if len(ids) > 1}
    assert len(duplicated) <= 1, duplicated
    for ids in duplicated.values():
        assert len(ids) == 2 and ids[0] == ids[1]  # the resend carries the same Message-ID
