"""data/rebases.csv (optional): known changes in a measure's process, from which its
Making Data Count limits are computed afresh."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest.errors import Problem
from digest.model import Rebase
from digest.site.catalogue import MEASURES, Catalogue, Row, read_rows
from digest.site.fields import suggestion

REBASES = "data/rebases.csv"
REBASE_COLUMNS = ("measure", "from", "reason")


def read_rebases(root: Path, catalogue: Catalogue, problems: list[Problem]) -> list[Rebase]:
    """Every good row of data/rebases.csv; each bad one is a FILE:LINE problem."""
    measures = {m.id for m in catalogue.measures}
    seen: dict[tuple[str, date], int] = {}
    rebases: list[Rebase] = []
    for row in read_rows(root, REBASES, REBASE_COLUMNS, REBASE_COLUMNS, problems, optional=True):
        rebase = _read_rebase(row, measures)
        if rebase is None:
            continue
        key = (rebase.measure, rebase.start)
        if key in seen:
            row.problem(f"{rebase.measure} is already rebased from {rebase.start} on line {seen[key]}")
            continue
        seen[key] = row.line
        rebases.append(rebase)
    return rebases


def _read_rebase(row: Row, measures: set[str]) -> Rebase | None:
    measure = row.required("measure")
    if measure is not None and measure not in measures:
        row.problem(
            f'measure "{measure}" is not a measure id of {MEASURES}{suggestion(measure, measures)}'
        )
        measure = None
    start = row.day("from")
    # The reason is what members are told when the limits restart, so it is required.
    reason = row.required("reason")
    if measure is None or start is None or reason is None:
        return None
    return Rebase(measure, start, reason)
