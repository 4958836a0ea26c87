"""[data] in schedules.toml: when monthly and quarterly values are due (staleness)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest.email.prepare import statuses_for
from digest.model import DataSettings, Span
from digest.site.config import read_config
from digest.site.load import load_site
from tests.sites import write_site


def _with_data(root: Path, table: str) -> Path:
    site = write_site(root)
    with (site / "schedules.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[data]\n" + table)
    return site


def test_without_data_the_defaults_apply(tmp_path: Path) -> None:
    config = read_config(write_site(tmp_path))
    assert config.data == DataSettings(Span(10, "working days"), Span(30, "working days"))


def test_data_is_read(tmp_path: Path) -> None:
    site = _with_data(tmp_path, 'monthly_due = "15 days"\nquarterly_due = "20 working days"\n')
    config = read_config(site)
    assert config.problems == []
    assert config.data == DataSettings(Span(15, "days"), Span(20, "working days"))


def test_a_bad_value_or_key_is_named_by_file_and_line(tmp_path: Path) -> None:
    site = _with_data(tmp_path, 'monthly_due = "soon"\nmonthly_dew = "3 days"\n')
    text = (site / "schedules.toml").read_text(encoding="utf-8").splitlines()
    config = read_config(site)
    found = {(p.file, p.line) for p in config.problems}
    assert ("schedules.toml", text.index('monthly_due = "soon"') + 1) in found
    assert ("schedules.toml", text.index('monthly_dew = "3 days"') + 1) in found
    assert any('monthly_due "soon"' in p.message for p in config.problems)


def test_statuses_use_the_sites_due_rules(tmp_path: Path) -> None:
    # The test site's monthly data ends in October 2026; on 1 December, with November due
    # only 40 days after it ends, nothing is stale yet.
    site = _with_data(tmp_path, 'monthly_due = "40 days"\n')
    loaded = load_site(site, date(2026, 12, 1))
    monthly = [s for s in statuses_for(loaded, date(2026, 12, 1)) if s.measure.frequency == "monthly"]
    assert monthly and not any(s.stale for s in monthly)
    strict = _with_data(tmp_path / "strict", 'monthly_due = "1 days"\n')
    loaded = load_site(strict, date(2026, 12, 1))
    monthly = [s for s in statuses_for(loaded, date(2026, 12, 1)) if s.measure.frequency == "monthly"]
    assert all(s.stale for s in monthly)
