"""The `[web]` table of schedules.toml: where members' links point, and who the staff are."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from digest.errors import Problem
from digest.settings import WEB
from digest.site.config import SCHEDULES
from digest.site.fields import Table
from digest.site.toml import TomlSyntaxError, parse


@dataclass(frozen=True)
class WebSettings:
    """`[web]`: the address members' links point at; the key comes only from the environment."""

    base_url: str
    staff: tuple[str, ...] = ()

    def url(self, path: str) -> str:
        """An absolute address under `base_url`."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1 (for [web] and smtp)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be the address members' links point at, or None."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return None
    if parts.scheme == "http" and parts.hostname:
        return f'base_url "{url}" must start with https:// (http only for a loopback host)'
    return f'base_url "{url}" is not a web address like "https://digest.example.gov.uk"'


def read_web(root: Path) -> tuple[WebSettings | None, list[Problem]]:
    """`[web]` from the site's schedules.toml (None when absent), and its problems."""
    try:
        data, lines = parse((root / SCHEDULES).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TomlSyntaxError):
        return None, []  # read_config reports these
    raw = data.get("web")
    problems: list[Problem] = []
    if raw is None:
        return None, problems
    if not isinstance(raw, dict):
        problems.append(Problem(SCHEDULES, lines.table("web"), "write [web] as a table"))
        return None, problems
    table = Table(SCHEDULES, lines, "web", 0, raw, problems)
    hints = {"secret_key": "remove it: the key comes only from DIGEST_SECRET_KEY"}
    table.check_keys(WEB.keys(), hints)
    base_url = table.checked("base_url", table.text("base_url"), base_url_problem)
    staff = table.words("staff", ())
    if base_url is None or staff is None:
        return None, problems
    return WebSettings(base_url, staff), problems
