"""README.md documents every setting of schedules.toml: its key and its default."""

from __future__ import annotations

import re
from typing import Any

import pytest

from digest.delivery.transports import TRANSPORTS
from digest.settings import TABLES, Setting, SettingsTable
from tests.sites import REPO

EVERY_TABLE = (*TABLES, *(kind.settings for kind in TRANSPORTS.values()))
EVERY_SETTING = [(table, setting) for table in EVERY_TABLE for setting in table]


def readme_rows(header: str) -> dict[str, str]:
    """The rows of the README's settings table under `### <header>`, by key."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### `{header}`\n", 1)
    assert len(section) == 2, f"README.md has no section ### `{header}`"
    body = re.split(r"\n#{2,3} ", section[1], maxsplit=1)[0]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 4:
            rows[cells[0].strip("`")] = cells[2]
    return rows


@pytest.mark.parametrize(
    ("table", "setting"), EVERY_SETTING, ids=[f"{t.header} {s.key}" for t, s in EVERY_SETTING]
)
def test_every_setting_is_in_the_readme_with_its_default(
    table: SettingsTable, setting: Setting[Any]
) -> None:
    rows = readme_rows(table.header)
    assert setting.key in rows, f"README.md does not document {table.header} {setting.key}"
    assert rows[setting.key] == f"`{setting.written}`", (
        f"README.md gives {table.header} {setting.key} the default {rows[setting.key]},"
        f" the code {setting.written}"
    )


def test_every_transport_has_a_settings_table_of_its_own() -> None:
    keys = [s.key for kind in TRANSPORTS.values() for s in kind.settings]
    assert len(keys) == len(set(keys)), "two transports declare the same [delivery] key"
