"""Finds syntax errors in a site's email templates, with file and line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError

from digest.errors import Problem

TEMPLATE_DIR = "templates/email"


def template_problems(root: Path) -> Iterator[Problem]:
    """Every template that does not parse, as FILE:LINE: message."""
    folder = root / TEMPLATE_DIR
    if not folder.is_dir():
        yield Problem(TEMPLATE_DIR, 1, "template folder not found: restore templates/email")
        return
    env = Environment(autoescape=True)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        name = path.relative_to(root).as_posix()
        try:
            env.parse(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            yield Problem(name, 1, "not UTF-8 text: save it as UTF-8")
        except TemplateSyntaxError as exc:
            yield Problem(name, exc.lineno or 1, f"template syntax: {exc.message}")
