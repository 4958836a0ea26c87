"""Two `digest send` processes on one occurrence at once: each message is delivered once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.crash_site import big_site
from tests.smtp_server import SmtpServer

REPO = Path(__file__).resolve().parent.parent
MEMBERS = 400


def test_two_processes_sending_one_occurrence_deliver_each_message_once(
    database_url: str, tmp_path: Path
) -> None:
    with SmtpServer() as server:
        site = big_site(tmp_path / "site", server.port, MEMBERS)
        command = [sys.executable, "-m", "digest.cli", "--site", str(site), "send", "tracker",
                   "--on", "2026-11-12"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO), "DIGEST_DATABASE_URL": database_url}
        senders = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
            for _ in range(2)
        ]
        outputs = [sender.communicate(timeout=300)[0] for sender in senders]
        ids = Counter(message.message_id for message in server.received)
    assert [s.returncode for s in senders] == [0, 0], outputs
    assert len(ids) == MEMBERS + 3
    assert set(ids.values()) == {1}
    assert sum("new message(s) queued" in out for out in outputs) >= 1
