"""`digest indicators`: JSON fields of the CLI contract, the table, and one measure explained."""

from __future__ import annotations

import json

import pytest

from digest.cli import main
from tests.sites import REPO

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
