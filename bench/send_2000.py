"""Send throughput of `digest send` for 2,000 recipients to a local aiosmtpd server.

Usage: python bench/send_2000.py [--recipients N] [--runs R]

Builds a site with N members, starts aiosmtpd on 127.0.0.1 in a thread (a handler
that only counts), then times `digest send` in a fresh process: compose, render,
enqueue on SQLite, SMTP over one reused connection. Prints messages per second
for the whole command (process start included) and for the send alone (from the
log of the run), best of R runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crash_site import big_site  # noqa: E402
from tests.smtp_server import free_port  # noqa: E402


class Counting:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 OK"


def one_run(members: int) -> tuple[float, int]:
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    folder = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    try:
        site = big_site(folder / "site", port, members)
        command = [sys.executable, "-m", "digest.cli", "--site", str(site), "send", "tracker",
                   "--on", "2026-11-12"]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        return time.perf_counter() - started, handler.count
    finally:
        controller.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run(args.recipients) for _ in range(args.runs)]
    best, delivered = min(results)
    print(f"cores: {os.cpu_count()}")
    print(f"digest send, {args.recipients} members (+3 of the test site): {delivered} messages")
    print(
        f"best of {args.runs}: {best:.2f} s for the whole command = {delivered / best:,.0f} messages/s"
    )
    print("runs: " + ", ".join(f"{seconds:.2f} s" for seconds, _ in results))


if __name__ == "__main__":
    main()
