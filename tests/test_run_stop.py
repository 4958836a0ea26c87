"""`digest run` stopped with SIGTERM mid-send: the message in hand is finished, the rest put back."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.crash_site import big_site
from tests.smtp_server import SmtpServer

LONDON = ZoneInfo("Europe/London")
MEMBERS = 1500
REPO = Path(__file__).resolve().parent.parent


def test_sigterm_finishes_the_message_in_hand_and_puts_the_rest_back(tmp_path: Path) -> None:
    due = datetime.now(LONDON) - timedelta(minutes=2)
    with SmtpServer() as server:
        site = big_site(tmp_path / "site", server.port, MEMBERS)
        path = site / "schedules.toml"
        text = path.read_text().replace(
            'to = ["role:chair", "role:lead-member"]\ncron = "30 7 * * mon-fri"\nworking_days_only = true',
            f'to = ["role:member"]\ncron = "{due.minute} {due.hour} * * *"',
        )
        assert 'to = ["role:member"]\ncron' in text
        path.write_text(text)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        daemon = subprocess.Popen(
            [sys.executable, "-m", "digest.cli", "--site", str(site), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(server.received) < 100 and time.monotonic() < deadline:
            time.sleep(0.005)
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
        at_stop = len(server.received)
        with sqlite3.connect(site / ".digest/state.db") as db:
            states = dict(db.execute("SELECT state, count(*) FROM delivery GROUP BY state").fetchall())
        again = subprocess.run(
            [sys.executable, "-m", "digest.cli", "--site", str(site), "send", "daily",
             "--on", due.date().isoformat()],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        copies = Counter(r for m in server.received for r in m.rcpt_tos)
    assert daemon.returncode == 0, output
    assert "Traceback" not in output and "CancelledError" not in output, output
    assert "stopped" in output
    assert 100 <= at_stop < MEMBERS, "the stop must land mid-send"
    assert "sending" not in states, states  # nothing left claimed for the lease
    assert again.returncode == 0, again.stdout + again.stderr
    members = {f"member{n:04d}@example.gov.uk" for n in range(MEMBERS)}
    assert members <= set(copies)
    assert [r for r, n in copies.items() if n > 1] == []  # not even the message in hand twice
