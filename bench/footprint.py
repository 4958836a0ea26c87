"""Memory and start-up: the daemon idle on the demo site, and how long `digest check` takes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import REPO

DEMO_FILES = ("recipients.toml", "schedules.toml", "data", "templates")
# What the daemon cannot do without: the interpreter with digest's libraries loaded.
IMPORTS = "import digest.cli, digest.cli.site_commands, digest.schedule.daemon"


def copy_demo(root: Path) -> Path:
    """A fresh copy of the repository's demo site (it delivers to a pickup folder)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in DEMO_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    return root


def vm_hwm_mb(pid: int) -> float:
    """A running process's peak resident memory, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def daemon_peak_mb(site: Path, settle: float) -> tuple[float, int]:
    """Start `digest run`, let it settle, read its peak memory, stop it; (MB, exit code)."""
    daemon = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--site", str(site), "run"],
        cwd=site,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(settle)
        if daemon.poll() is not None:
            said = daemon.communicate()[1].strip().splitlines()[-3:]
            raise RuntimeError(f"digest run stopped by itself ({daemon.returncode}): {said}")
        peak = vm_hwm_mb(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    return peak, code


def imports_peak_mb() -> float:
    """Peak memory of a Python that only imports what the daemon imports."""
    code = f"{IMPORTS}; import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout) / 1024


def median_seconds(command: list[str], cwd: Path, rounds: int) -> float:
    """The median wall time of running `command` `rounds` times (after one untimed run)."""
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_seconds(site: Path, rounds: int) -> tuple[float, float]:
    """`digest check` on the site, and `python -c "import digest"`: median wall seconds."""
    check = median_seconds([sys.executable, "-m", "digest.cli", "--site", str(site), "check"],
                           site, rounds)  # fmt: skip
    bare = median_seconds([sys.executable, "-c", "import digest"], site, rounds)
    return check, bare


def main(out: Path, settle: float, rounds: int) -> dict[str, float]:
    site = copy_demo(out.resolve() / "demo")
    check, bare = check_seconds(site, rounds)
    # The first start sends what is due today (catch-up); the second finds it done and idles.
    first, _ = daemon_peak_mb(site, settle)
    idle, code = daemon_peak_mb(site, settle)
    return {
        "daemon_first_start_mb": first,
        "daemon_idle_mb": idle,
        "daemon_exit_code": code,
        "imports_peak_mb": imports_peak_mb(),
        "check_seconds": check,
        "import_seconds": bare,
        "cpu_count": os.cpu_count() or 0,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))))
