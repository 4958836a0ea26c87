"""Notices edits to a site's files without reading them: size and modification time."""

from __future__ import annotations

from pathlib import Path

Fingerprint = tuple[tuple[str, int, int], ...]
WATCHED = ("recipients.toml", "schedules.toml", "data", "templates")


def fingerprint(root: Path) -> Fingerprint:
    """(path, size, mtime) of every file the performance team edits; changes when any does."""
    found: list[tuple[str, int, int]] = []
    for name in WATCHED:
        path = root / name
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for item in paths:
            try:
                stat = item.stat()
            except FileNotFoundError:
                continue  # removed between listing and looking: the next look sees it
            found.append((item.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(found)
