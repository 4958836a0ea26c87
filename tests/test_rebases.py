"""data/rebases.csv: read with FILE:LINE problems, and the XmR limits restarting from it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from digest.errors import Problem
from digest.insight import indicators
from digest.model import Measure
from digest.site.catalogue import read_measures
from digest.site.load import load_site
from digest.site.rebases import REBASES, read_rebases
from tests.sites import REPO, write_site

HEADER = "measure,from,reason\n"


def _read(site: Path, body: str) -> tuple[list[object], list[Problem]]:
    (site / REBASES).write_text(HEADER + body, encoding="utf-8")
    problems: list[Problem] = []
    catalogue = read_measures(site, problems)
    return list(read_rebases(site, catalogue, problems)), problems


def test_no_file_means_no_rebases(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    problems: list[Problem] = []
    assert read_rebases(site, read_measures(site, problems), problems) == []
    assert problems == []


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("visitz,2026-02-28,new policy", 'measure "visitz" is not a measure id'),
        ("visits,2026-02-30,new policy", 'from "2026-02-30" is not a date'),
        ("visits,February,new policy", 'from "February" is not a date'),
        ("visits,2026-02-28,", "reason is empty"),
        (",2026-02-28,new policy", "measure is empty"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line(tmp_path: Path, row: str, fragment: str) -> None:
    rebases, problems = _read(write_site(tmp_path), "visits,2025-01-31,ok\n" + row + "\n")
    assert len(rebases) == 1
    assert [(p.file, p.line) for p in problems] == [(REBASES, 3)]
    assert fragment in problems[0].message


def test_the_same_rebase_twice_is_a_problem(tmp_path: Path) -> None:
    _, problems = _read(write_site(tmp_path), "visits,2026-02-28,a\nvisits,2026-02-28,b\n")
    assert [(p.line, p.message) for p in problems] == [
        (3, "visits is already rebased from 2026-02-28 on line 2")
    ]


def _monthly(values: list[float], last: str) -> pd.DataFrame:
    ends = pd.date_range(end=last, periods=len(values), freq="ME")
    return pd.DataFrame({
        "measure": ["m"] * len(values),
        "period_end": ends.astype("datetime64[ns]"),
        "value": values,
        "missing": [None] * len(values),
        "note": [""] * len(values),
    })  # fmt: skip


M = Measure("m", "M", "social-care", unit="percent", polarity="lower", frequency="monthly",
            target=15.0)  # fmt: skip
ON = date(2026, 11, 26)


def test_limits_restart_at_a_rebase_with_twelve_points_since() -> None:
    # 12 months near 21, then 12 near 14.5 from November 2025: without the rebase the
    # whole window says "will consistently miss"; with it, the new process straddles 15.
    values = [21.0, 20.0] * 6 + [14.0, 15.5] * 6
    rows = _monthly(values, "2026-10-31")
    plain = indicators.compute([M], rows, ON)[0]
    rebased = indicators.compute([M], rows, ON, rebases={"m": (date(2025, 11, 30),)})[0]
    assert plain.spc.points == 24
    assert rebased.spc.points == 12
    assert rebased.spc.mean == pytest.approx(14.75)
    assert rebased.spc_points[0][0] == date(2025, 11, 30)
    assert (rebased.variation, rebased.assurance) == ("common-cause", "inconsistent")


def test_a_rebase_with_fewer_than_twelve_points_since_does_not_restart_the_limits() -> None:
    # DESIGN: the window starts at the latest rebase only when 12 points exist since it.
    values = [21.0, 20.0] * 8 + [14.0, 15.5] * 4
    rows = _monthly(values, "2026-10-31")
    plain = indicators.compute([M], rows, ON)[0]
    rebased = indicators.compute([M], rows, ON, rebases={"m": (date(2026, 3, 31),)})[0]
    assert rebased.spc == plain.spc


def test_an_earlier_rebase_still_applies_while_the_latest_has_too_few_points() -> None:
    values = [30.0] * 4 + [21.0, 20.0] * 8 + [14.0, 15.5] * 4
    rows = _monthly(values, "2026-10-31")
    both = {"m": (date(2024, 11, 30), date(2026, 3, 31))}
    rebased = indicators.compute([M], rows, ON, rebases=both)[0]
    assert rebased.spc.points == 24 and rebased.spc_points[0][0] == date(2024, 11, 30)


def test_the_demo_rebases_the_social_worker_vacancy_rate_in_february_2026() -> None:
    loaded = load_site(REPO, ON)
    assert loaded.site.rebases_by_measure() == {"sw-vacancy-rate": (date(2026, 2, 28),)}
    assert not [p for p in loaded.problems if p.file == REBASES]
