"""`digest indicators`: JSON fields of the CLI contract, the table, and one measure explained."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from digest.cli import main
from digest.cli.report import measure_explanation
from digest.insight import indicators
from digest.model import Measure
from tests.sites import REPO, write_site

CONTRACT = {"id", "title", "period_end", "value", "previous", "change", "rag", "direction",
            "variation", "assurance", "stale"}  # fmt: skip


def test_json_has_the_contract_fields_for_every_measure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", str(REPO), "indicators", "--on", "2026-11-26", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 24
    assert all(set(row) >= CONTRACT for row in rows)
    referrals = next(row for row in rows if row["id"] == "re-referrals")
    assert referrals["period_end"] == "2026-10-31" and referrals["stale"] is False


def test_as_of_a_date_only_earlier_periods_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", str(REPO), "indicators", "--on", "2026-10-15", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["re-referrals"]["period_end"] == "2026-09-30"
    assert rows["cla-count"]["period_end"] == "2026-10-15"


def test_the_table_and_the_explanation_read_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", str(REPO), "indicators", "--on", "2026-11-26"]) == 0
    table = capsys.readouterr().out
    assert "re-referrals" in table and "24 measures; 0 stale" in table
    assert (
        main(["--site", str(REPO), "indicators", "--on", "2026-11-26", "--measure", "re-referrals"])
        == 0
    )
    explained = capsys.readouterr().out
    assert "amber within 3.0 pts of it" in explained
    assert "limits" in explained


def test_an_unknown_measure_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--site", str(REPO), "indicators", "--measure", "nope"]) == 2
    assert 'no measure "nope"' in capsys.readouterr().err


def test_special_cause_points_are_dated_when_the_window_holds_missing_values() -> None:
    # One point far above (April 2026), then a gap (July 2026) within the window.
    ends = pd.date_range(end="2026-10-31", periods=26, freq="ME")
    values: list[float | None] = [10.0, 12.0] * 9 + [10.0, 30.0, 12.0, 10.0, None, 10.0, 12.0, 10.0]
    observations = pd.DataFrame({
        "measure": ["m"] * 26,
        "period_end": ends.astype("datetime64[ns]"),
        "value": [float("nan") if v is None else v for v in values],
        "missing": [":" if v is None else None for v in values],
        "note": [""] * 26,
    })  # fmt: skip
    m = Measure("m", "M", "social-care", unit="count", polarity="higher", frequency="monthly")
    status = indicators.compute([m], observations, date(2026, 11, 26))[0]
    explained = measure_explanation(status)
    assert explained.endswith("special-cause points: 2026-04-30 30")


def _revised_site(tmp_path: Path) -> Path:
    site = write_site(tmp_path, last_day=date(2026, 11, 11))
    sent_at = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    assert main(["--site", str(site), "send", "tracker", "--on", "2026-11-12"],
                clock=lambda: sent_at) == 0  # fmt: skip
    monthly = site / "data/observations/monthly.csv"
    text = monthly.read_text(encoding="utf-8")
    shown = next(line for line in text.splitlines() if line.startswith("re-referrals,2026-10-31,"))
    monthly.write_text(text.replace(shown, "re-referrals,2026-10-31,24.0,"), encoding="utf-8")
    return site


def test_json_says_what_a_revised_figure_was_last_shown_as(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _revised_site(tmp_path)
    capsys.readouterr()
    assert main(["--site", str(site), "indicators", "--on", "2026-11-26", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["re-referrals"]["value"] == 24.0
    assert rows["re-referrals"]["revised"] == 22.0
    assert rows["visits"]["revised"] is None


def test_without_a_store_nothing_is_revised_and_no_store_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    before = sorted(p.name for p in site.iterdir())
    assert main(["--site", str(site), "indicators", "--on", "2026-11-26", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(row["revised"] is None for row in rows)
    assert sorted(p.name for p in site.iterdir()) == before


def test_revised_compares_values_as_shown() -> None:
    m = Measure("m", "M", "social-care", unit="percent", polarity="higher", frequency="monthly")
    ends = pd.date_range(end="2026-10-31", periods=2, freq="ME")
    observations = pd.DataFrame({
        "measure": ["m", "m"], "period_end": ends.astype("datetime64[ns]"),
        "value": [23.0, 24.02], "missing": [None, None], "note": ["", ""],
    })  # fmt: skip
    on = date(2026, 11, 26)
    same = indicators.compute([m], observations, on, last_shown={"m": {"2026-10-31": 24.01}})
    assert same[0].revised is None  # both "24.0%"
    changed = indicators.compute([m], observations, on, last_shown={"m": {"2026-10-31": 23.1}})
    assert changed[0].revised == 23.1
    older = indicators.compute([m], observations, on, last_shown={"m": {"2026-09-30": 22.0}})
    assert older[0].revised is None
