"""`digest run` for real: a subprocess, a real SMTP server, real time (a few seconds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer

LONDON = ZoneInfo("Europe/London")


def test_digest_run_catches_up_sends_once_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # A schedule due two minutes ago, every day: `run` must catch it up at once, once.
    due = datetime.now(LONDON) - timedelta(minutes=2)
    site = write_site(tmp_path / "site", last_day=due.date() - timedelta(days=1))
    with SmtpServer() as server:
        path = send_by_smtp(site, server.port) / "schedules.toml"
        text = path.read_text().replace('cron = "30 7 * * mon-fri"\nworking_days_only = true',
                            f'cron = "{due.minute} {due.hour} * * *"')  # fmt: skip
        path.write_text(text)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "digest.cli", "--site", str(site), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while len(server.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(6)  # another housekeeping pass: nothing more must go out
        finally:
            daemon.send_signal(signal.SIGTERM)
            output, _ = daemon.communicate(timeout=30)
    recipients = sorted(r for m in server.received for r in m.rcpt_tos)
    assert recipients == ["chair@example.gov.uk", "lead@example.gov.uk"], output
    assert daemon.returncode == 0, output
    assert "caught up daily" in output
    assert "stopped" in output
