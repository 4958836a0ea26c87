"""The benchmark's generator makes valid sites (no timing here: see bench/run.py)."""

from __future__ import annotations

from pathlib import Path

from bench.generate import (
    INDICATORS_DAY,
    PUBLISHED_ON,
    THEME_CHOICES,
    TRACKER,
    write_indicators_site,
    write_send_site,
)
from digest import calendar
from digest.email.render import build_messages
from digest.insight import indicators
from digest.site.load import load_site


def test_the_send_site_is_valid_and_its_tracker_goes_to_every_member(tmp_path: Path) -> None:
    members = 2 * len(THEME_CHOICES)
    loaded = load_site(write_send_site(tmp_path / "send", members=members), PUBLISHED_ON)
    assert loaded.problems == ()
    schedule = loaded.site.schedule(TRACKER)
    assert schedule is not None
    occurrence = calendar.occurrence_on(loaded.site, schedule, PUBLISHED_ON)
    assert occurrence is not None
    statuses = indicators.compute(loaded.site.measures, loaded.observations, occurrence.on)
    assert not any(s.stale for s in statuses)
    batch = build_messages(loaded.site, occurrence, statuses)
    assert len(batch.variants) == len(THEME_CHOICES)
    sent_to = [m.outgoing.recipient.id for m in batch]
    assert len(set(sent_to)) == members
    assert batch.problems == []


def test_the_indicators_site_is_valid_with_every_days_value(tmp_path: Path) -> None:
    root = write_indicators_site(tmp_path / "indicators", measures=7, years=1)
    loaded = load_site(root, INDICATORS_DAY)
    assert loaded.problems == ()
    assert len(loaded.site.measures) == 7
    assert len(loaded.observations) == 7 * 365
    statuses = indicators.compute(loaded.site.measures, loaded.observations, INDICATORS_DAY)
    assert all(s.period_end == INDICATORS_DAY for s in statuses)


def test_the_generator_gives_the_same_files_for_the_same_size(tmp_path: Path) -> None:
    first = write_indicators_site(tmp_path / "a", measures=3, years=1)
    second = write_indicators_site(tmp_path / "b", measures=3, years=1)
    observations = "data/observations/daily.csv"
    assert (first / observations).read_bytes() == (second / observations).read_bytes()


def test_every_path_of_the_benchmark_command_runs_at_a_tiny_size(tmp_path: Path) -> None:
    # The README's benchmark command, on the smallest sites: send, naive, ceiling, scale and
    # footprint all run, so a template or API change cannot break it unseen.
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--tiny", "--out", str(tmp_path)],
        cwd=repo, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "figure" not in line]
    assert len(rows) == 12  # send (5), the instances (3), indicators (1), footprint (3)
    assert (tmp_path / "results.json").is_file()


def test_the_instance_rows_measure_storage_two_workers_and_postgresql(tmp_path: Path) -> None:
    from bench.run import child, instance_rows
    from bench.sink import Sink

    members = 2 * len(THEME_CHOICES)
    site = write_send_site(tmp_path / "send", members=members)
    with Sink() as sink:
        runs = [child("bench.send", mode, site, sink.port, members)
                for mode in ("digest", "ceiling", "digest-workers2", "digest-postgres")]  # fmt: skip
    assert [r["sent"] for r in runs] == [members] * 4
    rows = instance_rows(members, *runs)
    assert [r.ratio > 0 for r in rows] == [True] * 3
