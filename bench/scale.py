"""Indicators at scale, in a child process: `python -m bench.scale SITE ROUNDS` prints JSON.

The reference is `pandas.read_csv` of the observations file alone; digest's figure is the
whole status computation: reading and checking the site (observations included), then
`indicators.compute` for every measure. Each is timed ROUNDS times and the best is kept,
after one untimed read so that both find the file in the page cache.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

import pandas as pd

from bench.generate import INDICATORS_DAY, observations_file
from digest.insight import indicators
from digest.site.load import load_site


def best_of(rounds: int, work: Callable[[], object]) -> float:
    """The shortest of `rounds` timed runs of `work`."""
    times = []
    for _ in range(rounds):
        start = perf_counter()
        work()
        times.append(perf_counter() - start)
    return min(times)


def statuses(root: Path) -> tuple[int, int, int]:
    """Load the site and compute every measure's status; (rows, measures, problems)."""
    loaded = load_site(root, INDICATORS_DAY)
    found = indicators.compute(loaded.site.measures, loaded.observations, INDICATORS_DAY)
    return len(loaded.observations), len(found), len(loaded.problems)


def measure(root: Path, rounds: int) -> dict[str, float | int]:
    path = observations_file(root)
    pd.read_csv(path)  # warm the page cache and pandas' own first-call costs
    reference = best_of(rounds, lambda: pd.read_csv(path))
    rows, measures, problems = statuses(root)
    digest = best_of(rounds, lambda: statuses(root))
    loaded = load_site(root, INDICATORS_DAY)
    compute = best_of(
        rounds,
        lambda: indicators.compute(loaded.site.measures, loaded.observations, INDICATORS_DAY),
    )
    return {
        "read_csv_seconds": reference,
        "digest_seconds": digest,
        "compute_seconds": compute,
        "rows": rows,
        "measures": measures,
        "problems": problems,
        "file_mb": path.stat().st_size / 1e6,
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]))))
