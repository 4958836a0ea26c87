"""Where each table and key of a TOML file stands, so errors can name a line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from digest.errors import DigestError

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
_DECODE_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


@dataclass
class TomlLines:
    """Line numbers of tables (by name and position) and of their keys."""

    tables: dict[tuple[str, int], int] = field(default_factory=dict)
    keys: dict[tuple[str, int, str], int] = field(default_factory=dict)

    def table(self, name: str, index: int = 0) -> int:
        return self.tables.get((name, index), 1)

    def key(self, name: str, index: int, key: str) -> int:
        return self.keys.get((name, index, key), self.table(name, index))


def locate(text: str) -> TomlLines:
    """Index the headers and keys of TOML text by line (1-based)."""
    found = TomlLines()
    counts: dict[str, int] = {}
    current = ("", 0)
    found.tables[current] = 1
    for number, line in enumerate(text.splitlines(), start=1):
        header = _ARRAY_HEADER.match(line)
        if header:
            name = header.group(1)
            current = (name, counts.get(name, 0))
            counts[name] = current[1] + 1
            found.tables[current] = number
            continue
        header = _TABLE_HEADER.match(line)
        if header:
            current = (header.group(1), 0)
            found.tables[current] = number
            continue
        key = _KEY.match(line)
        if key:
            found.keys.setdefault((*current, key.group(1).strip('"')), number)
    return found


def parse(text: str) -> tuple[dict[str, Any], TomlLines]:
    """Parse TOML and locate its lines; raises ValueError(line, message) on bad syntax."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _DECODE_LINE.search(str(exc))
        line = int(match.group(1)) if match else 1
        column = f" at column {match.group(2)}" if match else ""
        message = f"not valid TOML: {_DECODE_LINE.sub('', str(exc))}{column}"
        raise TomlSyntaxError(line, message) from None
    except RecursionError:
        # tomllib recurses per nested array or inline table; a deep nest must be a message, not a crash
        raise TomlSyntaxError(1, "not valid TOML: nested too deeply") from None
    return data, locate(text)


class TomlSyntaxError(DigestError, ValueError):
    """The file is not valid TOML."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")
