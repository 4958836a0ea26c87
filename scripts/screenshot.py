"""Render every digest kind from fixture data and screenshot it at phone and desktop width.

Usage: python scripts/screenshot.py [--out preview/screens] [--chromium /usr/bin/chromium]

Writes KIND.html (charts as data: URIs, so that a browser shows them), KIND.txt, KIND.eml,
KIND-phone.png (390px wide) and KIND-desktop.png (1200px wide).
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.email.render import RenderedMessage, build_messages  # noqa: E402
from digest.model import Alert, MeasureStatus, Occurrence  # noqa: E402
from tests import render_fixtures as fx  # noqa: E402

WIDTHS = {"phone": 390, "desktop": 1200}


@dataclass(frozen=True)
class Case:
    name: str
    occurrence: Occurrence
    statuses: list[MeasureStatus]
    recipient: str
    deadline: date | None = None
    alert: Alert | None = None
    extra: dict[str, object] = field(default_factory=dict)


def cases() -> Iterator[Case]:
    """One fixture occurrence per digest kind (two for key indicators: current and stale)."""
    morning = date(2026, 11, 26)
    yield Case(
        "key-indicators",
        fx.occurrence(fx.KEY_INDICATORS, morning, at=time(7, 30)),
        fx.daily_statuses(morning),
        "cllr-chair",
    )
    yield Case(
        "key-indicators-stale",
        fx.occurrence(fx.KEY_INDICATORS, morning, at=time(7, 30)),
        fx.daily_statuses(morning, stale=True),
        "cllr-lead",
    )
    published = fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE)
    statuses = fx.missing_last(fx.monthly_statuses())
    yield Case("tracker", published, statuses, "cllr-care")
    yield Case(
        "deep-dive-invite",
        fx.occurrence(fx.INVITE, date(2026, 11, 12), fx.SOCIAL_CARE),
        statuses,
        "cllr-plain",
        deadline=fx.DEADLINE,
    )
    yield Case(
        "deep-dive-reminder",
        fx.occurrence(fx.REMINDER, date(2026, 11, 17), fx.SOCIAL_CARE),
        statuses,
        "cllr-plain",
        deadline=fx.DEADLINE,
    )
    yield Case(
        "deep-dive-summary",
        fx.occurrence(fx.SUMMARY, date(2026, 11, 19), fx.SOCIAL_CARE),
        statuses,
        "officer-care",
    )
    yield Case("alert", fx.occurrence(fx.ALERTS, morning), [], "perf-team", alert=fx.alert())


def render_case(case: Case) -> RenderedMessage:
    batch = build_messages(
        fx.make_site(),
        case.occurrence,
        case.statuses,
        deadline=case.deadline,
        alert=case.alert,
        recipient_ids=[case.recipient],
    )
    (message,) = list(batch)
    return message


def with_data_uris(rendered: RenderedMessage) -> str:
    """The HTML with each cid: reference replaced by its image, for a file:// page."""
    html = rendered.html
    parsed = email.message_from_bytes(rendered.outgoing.raw, policy=email.policy.default)
    for part in parsed.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_type() == "image/png":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            uri = "data:image/png;base64," + base64.b64encode(payload).decode("ascii")
            html = html.replace(f"cid:{cid.strip('<>')}", uri)
    return html


def screenshot(chromium: str, page: Path, png: Path, width: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},2600",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "preview" / "screens")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for case in cases():
        rendered = render_case(case)
        page = args.out / f"{case.name}.html"
        page.write_text(with_data_uris(rendered), encoding="utf-8")
        (args.out / f"{case.name}.txt").write_text(rendered.text, encoding="utf-8")
        (args.out / f"{case.name}.eml").write_bytes(rendered.outgoing.raw)
        if not args.no_screenshots:
            for label, width in WIDTHS.items():
                screenshot(args.chromium, page, args.out / f"{case.name}-{label}.png", width)
        print(
            f"{case.name}: {len(rendered.html):,} bytes of HTML, "
            f"{len(rendered.outgoing.raw):,} bytes in all"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
