"""Reads data/measures.csv, data/publications.csv and data/deep_dive_requests.csv."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from digest.errors import Problem
from digest.model import DeepDiveRequest, Measure, Publication
from digest.site.csvfile import TOO_MANY_CELLS, csv_rows
from digest.site.fields import ID_PATTERN, suggestion
from digest.units import UNITS

MEASURES = "data/measures.csv"
PUBLICATIONS = "data/publications.csv"
REQUESTS = "data/deep_dive_requests.csv"

MEASURE_COLUMNS = (
    "id",
    "title",
    "scorecard",
    "unit",
    "polarity",
    "frequency",
    "target",
    "target_max",
    "tolerance",
    "decimals",
    "themes",
    "owner",
    "england",
    "statistical_neighbours",
    "description",
)
REQUIRED_MEASURE_COLUMNS = ("id", "title", "scorecard", "unit", "polarity", "frequency")
POLARITIES = ("higher", "lower", "range", "info")
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")
PUBLICATION_COLUMNS = ("scorecard", "period_end", "published_on", "url")
REQUEST_COLUMNS = ("scorecard", "period_end", "measure", "requested_by", "requested_on")


@dataclass
class Row:
    """One CSV row with its line number, read field by field."""

    file: str
    line: int
    cells: dict[str, str]
    problems: list[Problem]

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, message))

    def text(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def required(self, column: str) -> str | None:
        value = self.text(column)
        if not value:
            self.problem(f"{column} is empty: every row needs one")
            return None
        return value

    def choice(self, column: str, choices: tuple[str, ...]) -> str | None:
        value = self.required(column)
        if value is not None and value not in choices:
            self.problem(
                f'{column} "{value}" must be one of {", ".join(choices)}{suggestion(value, choices)}'
            )
            return None
        return value

    def number(self, column: str) -> float | None:
        value = self.text(column)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            self.problem(
                f'{column} "{value}" is not a number: write digits like 84.5, without % or commas'
            )
            return None
        return number

    def day(self, column: str) -> date | None:
        value = self.required(column)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.problem(f'{column} "{value}" is not a date: write it as YYYY-MM-DD')
            return None


def read_rows(
    root: Path,
    name: str,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    problems: list[Problem],
    *,
    optional: bool = False,
) -> Iterator[Row]:
    """Rows of a CSV file with their line numbers; header problems reported once."""
    path = root / name
    if not path.exists():
        if not optional:
            problems.append(
                Problem(name, 1, f"file not found: create it with the header {','.join(columns)}")
            )
        return
    text = _text_of(path, name, problems)
    if text is None:
        return
    yield from _rows_of(name, text, columns, required, problems)


def _text_of(path: Path, name: str, problems: list[Problem]) -> str | None:
    """The file's text, or None with a problem naming the line of a bad byte."""
    if not path.is_file():  # a folder or a pipe would fail, or wait for ever, when read
        problems.append(Problem(name, 1, "not a regular file: replace it with a CSV file"))
        return None
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, "not UTF-8 text: save the file as UTF-8 (CSV UTF-8)"))
        return None


def _rows_of(
    name: str, text: str, columns: tuple[str, ...], required: tuple[str, ...],
    problems: list[Problem],
) -> Iterator[Row]:  # fmt: skip
    with io.StringIO(text, newline="") as handle:
        rows = csv_rows(handle, name, problems)
        _, first = next(rows, (1, []))
        header = [h.strip() for h in first]
        if not _header_ok(name, header, columns, required, problems):
            return
        for line, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append(Problem(name, line, TOO_MANY_CELLS))
                continue
            yield Row(name, line, dict(zip(header, cells, strict=False)), problems)


def _header_ok(
    name: str,
    header: list[str],
    columns: tuple[str, ...],
    required: tuple[str, ...],
    problems: list[Problem],
) -> bool:
    ok = True
    for column in header:
        if column not in columns:
            problems.append(
                Problem(
                    name,
                    1,
                    f'unknown column "{column}"{suggestion(column, columns)}: the columns are {",".join(columns)}',
                )
            )
            ok = False
    for column in required:
        if column not in header:
            problems.append(
                Problem(
                    name,
                    1,
                    f'missing column "{column}": the header must include {",".join(required)}',
                )
            )
            ok = False
    return ok


@dataclass
class Catalogue:
    measures: list[Measure] = field(default_factory=list)
    measure_lines: dict[str, int] = field(default_factory=dict)
    # Ids of measure rows that did not parse: reported once there, not again by each
    # observation or request naming them.
    unreadable: set[str] = field(default_factory=set)
    publications: list[Publication] = field(default_factory=list)
    requests: list[DeepDiveRequest] = field(default_factory=list)
    request_rows: list[Row] = field(default_factory=list)

    @property
    def scorecards(self) -> set[str]:
        return {m.scorecard for m in self.measures}


def read_measures(root: Path, problems: list[Problem]) -> Catalogue:
    catalogue = Catalogue()
    for row in read_rows(root, MEASURES, MEASURE_COLUMNS, REQUIRED_MEASURE_COLUMNS, problems):
        measure = _read_measure(row)
        if measure is None:
            catalogue.unreadable.add(row.text("id"))
            continue
        if measure.id in catalogue.measure_lines:
            row.problem(
                f'measure id "{measure.id}" is already used on line {catalogue.measure_lines[measure.id]}: ids must be unique'
            )
            continue
        catalogue.measure_lines[measure.id] = row.line
        catalogue.measures.append(measure)
    return catalogue


def _read_measure(row: Row) -> Measure | None:
    ident = row.required("id")
    if ident is not None and not ID_PATTERN.match(ident):
        row.problem(f'id "{ident}" must use only a-z, 0-9 and single hyphens')
        ident = None
    fields: dict[str, Any] = {
        "title": row.required("title"),
        "scorecard": _identifier(row, "scorecard"),
        "unit": row.choice("unit", tuple(UNITS)),
        "polarity": row.choice("polarity", POLARITIES),
        "frequency": row.choice("frequency", FREQUENCIES),
    }
    numbers = {
        c: row.number(c)
        for c in ("target", "target_max", "tolerance", "england", "statistical_neighbours")
    }
    decimals = _decimals(row)
    if ident is None or any(v is None for v in fields.values()):
        return None
    if not _targets_ok(row, fields["polarity"], numbers):
        return None
    themes = tuple(t.strip() for t in row.text("themes").split(";") if t.strip())
    return Measure(
        id=ident,
        title=fields["title"],
        scorecard=fields["scorecard"],
        unit=fields["unit"],
        polarity=fields["polarity"],
        frequency=fields["frequency"],
        target=numbers["target"],
        target_max=numbers["target_max"],
        tolerance=numbers["tolerance"],
        england=numbers["england"],
        statistical_neighbours=numbers["statistical_neighbours"],
        decimals=decimals,
        themes=themes,
        owner=row.text("owner") or None,
        description=row.text("description"),
    )


def _identifier(row: Row, column: str) -> str | None:
    value = row.required(column)
    if value is not None and not ID_PATTERN.match(value):
        row.problem(f'{column} "{value}" must use only a-z, 0-9 and single hyphens')
        return None
    return value


def _decimals(row: Row) -> int | None:
    value = row.text("decimals")
    if not value:
        return None
    if not value.isdigit() or int(value) > 6:
        row.problem(f'decimals "{value}" must be a whole number from 0 to 6')
        return None
    return int(value)


def _targets_ok(row: Row, polarity: str, numbers: dict[str, float | None]) -> bool:
    target, target_max, tolerance = numbers["target"], numbers["target_max"], numbers["tolerance"]
    if polarity == "range":
        if target is None or target_max is None:
            row.problem("a range measure needs both target and target_max (the good range)")
            return False
        if target_max < target:
            row.problem(
                f"target_max {target_max:g} is below target {target:g}: the good range is target..target_max"
            )
            return False
    elif target_max is not None:
        row.problem(f'target_max goes only with polarity "range", not "{polarity}": empty it')
        return False
    if polarity == "info" and target is not None:
        row.problem(
            'an "info" measure makes no judgement: empty its target, or choose higher/lower'
        )
        return False
    if tolerance is not None and tolerance < 0:
        row.problem(f"tolerance {tolerance:g} must not be negative")
        return False
    return True


def read_publications(root: Path, catalogue: Catalogue, problems: list[Problem]) -> None:
    seen: dict[tuple[str, date], int] = {}
    for row in read_rows(root, PUBLICATIONS, PUBLICATION_COLUMNS, PUBLICATION_COLUMNS, problems):
        scorecard = _known(
            row, "scorecard", catalogue.scorecards, "a scorecard of data/measures.csv"
        )
        period_end, published_on = row.day("period_end"), row.day("published_on")
        url = row.required("url")
        if url is not None and not url.startswith(("https://", "http://")):
            row.problem(f'url "{url}" must start with https://')
            url = None
        if scorecard is None or period_end is None or published_on is None or url is None:
            continue
        if published_on < period_end:
            row.problem(
                f"published_on {published_on} is before the period it reports ({period_end})"
            )
            continue
        if (scorecard, period_end) in seen:
            row.problem(
                f"{scorecard} for {period_end} is already published on line {seen[scorecard, period_end]}"
            )
            continue
        seen[scorecard, period_end] = row.line
        catalogue.publications.append(Publication(scorecard, period_end, published_on, url))


def read_requests(root: Path, catalogue: Catalogue, problems: list[Problem]) -> None:
    measures = {m.id for m in catalogue.measures}
    published = {(p.scorecard, p.period_end) for p in catalogue.publications}
    for row in read_rows(root, REQUESTS, REQUEST_COLUMNS, REQUEST_COLUMNS, problems, optional=True):
        if row.text("measure") in catalogue.unreadable:
            continue  # its measure's own row is reported
        scorecard = _known(
            row, "scorecard", catalogue.scorecards, "a scorecard of data/measures.csv"
        )
        period_end, requested_on = row.day("period_end"), row.day("requested_on")
        measure = _known(row, "measure", measures, "a measure id of data/measures.csv")
        by = row.required("requested_by")
        if None in (scorecard, period_end, requested_on, measure, by):
            continue
        if (scorecard, period_end) not in published:
            row.problem(f"no publication of {scorecard} for {period_end} in {PUBLICATIONS}")
            continue
        catalogue.request_rows.append(row)
        catalogue.requests.append(DeepDiveRequest(scorecard, period_end, measure, by, requested_on))  # type: ignore[arg-type]


def _known(row: Row, column: str, known: set[str], what: str) -> str | None:
    value = row.required(column)
    if value is not None and value not in known:
        row.problem(f'{column} "{value}" is not {what}{suggestion(value, known)}')
        return None
    return value
