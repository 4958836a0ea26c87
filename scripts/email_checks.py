"""Look at every email as a member would, and check it: height on a phone, size, axe-core, doiuse-email.

Usage: python scripts/email_checks.py [--site DIR] [--out preview/checks] [--no-limits]

For each schedule of the demo site (its occurrence after the latest Social Care
publication, or the morning email of the publication day) and for an alert, it renders
the message with `digest preview`, opens it in headless Chromium (Playwright driving
/usr/bin/chromium) at 390 px and 1200 px, and prints one line per email:

- its height on a 390 px phone, and whether its first screen (the top 844 px) names what
  needs attention;
- the size of its HTML part, and its width at 390 px when Gmail drops the <style> block;
- axe-core's WCAG 2.2 A and AA violations;
- doiuse-email's errors for Gmail and Apple Mail, and for Outlook on Windows.

Screenshots (KIND-phone.png, KIND-desktop.png) and the rendered files go to --out.
The npm packages (axe-core, doiuse-email) are installed into bench/out/email-checks on
first use. Exit 1 when an email is over its limits or has a violation or an error.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "out" / "email-checks"
NPM_PACKAGES = ("axe-core@4.14.1", "doiuse-email@0.4.1")
CHROMIUM = "/usr/bin/chromium"
PHONE, DESKTOP, FIRST_SCREEN = 390, 1200, 844
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# The heights and sizes issue 10 asks for, per digest kind (px at 390 wide; bytes of HTML).
HEIGHT_LIMITS = {"tracker": 4000, "deep-dive-invite": 3000, "deep-dive-reminder": 3000}
HTML_LIMIT = 50_000
ATTENTION = re.compile(r"needs? attention|nothing needs attention|attention", re.IGNORECASE)
# Outlook features doiuse-email reports that fail safely (progressive enhancement).
OUTLOOK_ALLOWED: tuple[str, ...] = ()

DOIUSE_SCRIPT = """
import { doIUseEmail } from 'doiuse-email';
import { readFileSync } from 'node:fs';
const html = readFileSync(process.argv[2], 'utf8');
const clients = process.argv[3].split(',');
const result = doIUseEmail(html, { emailClients: clients });
process.stdout.write(JSON.stringify({ errors: result.errors || [], warnings: result.warnings || [] }));
"""


@dataclass
class Email:
    name: str
    html: Path
    kind: str


@dataclass
class Finding:
    name: str
    phone_height: int
    phone_width: int
    gmail_width: int
    html_bytes: int
    first_screen_attention: bool
    axe: list[str]
    doiuse: list[str]
    outlook: list[str]

    def problems(self, kind: str) -> list[str]:
        found = [f"axe: {v}" for v in self.axe] + [f"doiuse: {e}" for e in self.doiuse]
        found += [f"outlook: {e}" for e in self.outlook if not e.startswith(OUTLOOK_ALLOWED)]
        limit = HEIGHT_LIMITS.get(kind)
        if limit and self.phone_height > limit:
            found.append(f"{self.phone_height} px tall on a phone (limit {limit})")
        if kind == "tracker" and self.html_bytes > HTML_LIMIT:
            found.append(f"{self.html_bytes:,} bytes of HTML (limit {HTML_LIMIT:,})")
        if self.phone_width > PHONE or self.gmail_width > PHONE:
            found.append(f"wider than a phone ({self.phone_width} px, {self.gmail_width} without <style>)")
        if kind != "alert" and not self.first_screen_attention:
            found.append("the first screen does not say what needs attention")
        return found


def digest_cli(site: Path, *args: str) -> str:
    command = [sys.executable, "-m", "digest.cli", "--site", str(site), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"digest {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def occurrences(site: Path) -> dict[str, str]:
    """Each schedule's first date on or after the latest Social Care publication."""
    published = [
        line.split(",")
        for line in (site / "data" / "publications.csv").read_text().splitlines()[1:]
        if line.startswith("social-care,")
    ]
    start = max(row[2] for row in published)
    rows = json.loads(digest_cli(site, "upcoming", "--from", start, "--days", "14", "--json"))
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row["schedule"], row["on"] if "on" in row else row["at"][:10])
    return first


def render_site(site: Path, out: Path) -> list[Email]:
    """Every schedule's message for its first recipient, via `digest preview`."""
    emails = []
    first = occurrences(site)
    for schedule, on in first.items():
        folder = out / schedule
        digest_cli(site, "preview", schedule, "--on", on, "--out", str(folder))
        pages = sorted(folder.glob("*.eml"))
        if not pages:
            print(f"{schedule}: nothing rendered on {on}", file=sys.stderr)
            continue
        kind = _kind_of(site, schedule)
        emails.append(Email(schedule, _with_data_uris(pages[0], out / f"{schedule}.html"), kind))
    return emails + render_since(site, out, first)


def render_since(site: Path, out: Path, first: dict[str, str]) -> list[Email]:
    """Each tracker as a member gets it after the month before's: with "since your last
    digest". A copy of the site sends and approves the earlier tracker first."""
    schedules = tomllib.loads((site / "schedules.toml").read_text())["schedule"]
    trackers = [s for s in schedules if s["digest"] == "tracker" and s["id"] in first]
    if not trackers:
        return []
    copy = out / "site-with-history"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns(
        ".digest", ".venv", ".git", "bench", "preview", "node_modules", "__pycache__"))  # fmt: skip
    people = tomllib.loads((site / "recipients.toml").read_text())["recipient"]
    emails = []
    for schedule in trackers:
        on = first[schedule["id"]]
        scorecard = schedule.get("after", "")
        published = sorted(
            line.split(",")[2]
            for line in (site / "data" / "publications.csv").read_text().splitlines()[1:]
            if line.startswith(f"{scorecard},") and line.split(",")[2] < on
        )
        if not published:
            continue
        digest_cli(copy, "send", schedule["id"], "--on", published[-1])
        approvers = [p["id"] for p in people if set(p.get("roles", ())) & {
            t.removeprefix("role:") for t in schedule.get("sign_off", ())} or p["id"] in schedule.get("sign_off", ())]  # fmt: skip
        if approvers:
            digest_cli(copy, "approve", schedule["id"], "--on", published[-1], "--by", approvers[0])
        folder = out / f"{schedule['id']}-since"
        digest_cli(copy, "preview", schedule["id"], "--on", on, "--out", str(folder))
        pages = sorted(folder.glob("*.eml"))
        if pages:
            name = f"{schedule['id']}-since"
            emails.append(Email(name, _with_data_uris(pages[0], out / f"{name}.html"), "tracker"))
    return emails


def _kind_of(site: Path, schedule: str) -> str:
    text = (site / "schedules.toml").read_text()
    match = re.search(rf'id = "{re.escape(schedule)}"\s*\n\s*digest = "([a-z-]+)"', text)
    return match.group(1) if match else schedule


def render_alert(out: Path) -> Email:
    sys.path.insert(0, str(ROOT))
    from scripts.screenshot import cases, render_case

    case = next(c for c in cases() if c.name == "alert")
    eml = out / "alert.eml"
    eml.write_bytes(render_case(case).outgoing.raw)
    return Email("alert", _with_data_uris(eml, out / "alert.html"), "alert")


def _with_data_uris(eml: Path, page: Path) -> Path:
    """The HTML part with each cid: image inlined as a data: URI, for a file:// page."""
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html, images = "", {}
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        cid = part.get("Content-ID")
        if cid and part.get_content_type() == "image/png":
            payload = part.get_payload(decode=True)
            images[cid.strip("<>")] = base64.b64encode(payload).decode("ascii")
    for cid, data in images.items():
        html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    page.write_text(html, encoding="utf-8")
    (page.with_suffix(".bytes")).write_text(str(len(_html_part(message).encode("utf-8"))))
    return page


def _html_part(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return str(part.get_content())  # type: ignore[attr-defined]
    return ""


def install_node_packages() -> None:
    if all((NODE_DIR / "node_modules" / p.split("@")[0]).is_dir() for p in NPM_PACKAGES):
        return
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    (NODE_DIR / "package.json").write_text('{"private": true, "type": "module"}\n')
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", *NPM_PACKAGES],
                   cwd=NODE_DIR, check=True)  # fmt: skip


def doiuse(page: Path, clients: str) -> list[str]:
    script = NODE_DIR / "doiuse.mjs"
    script.write_text(DOIUSE_SCRIPT)
    done = subprocess.run(["node", str(script), str(page), clients], cwd=NODE_DIR,
                          capture_output=True, text=True, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return sorted({str(e) for e in result["errors"]})  # each feature once, not once per use


def look(browser: Any, item: Email, out: Path) -> Finding:
    page = browser.new_page(viewport={"width": PHONE, "height": FIRST_SCREEN})
    page.goto(item.html.as_uri())
    phone_height = page.evaluate("document.documentElement.scrollHeight")
    phone_width = page.evaluate("document.documentElement.scrollWidth")
    first = page.evaluate(
        f"""Array.from(document.querySelectorAll('body *')).filter(e => {{
            const r = e.getBoundingClientRect(); return r.top < {FIRST_SCREEN} && r.height > 0
                && e.children.length === 0; }}).map(e => e.textContent).join(' ')"""
    )
    page.screenshot(path=str(out / f"{item.name}-phone.png"), full_page=True)
    page.add_script_tag(path=str(NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"))
    axe = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')'))",
        AXE_TAGS,
    )
    page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
    gmail_width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    desktop = browser.new_page(viewport={"width": DESKTOP, "height": 900})
    desktop.goto(item.html.as_uri())
    desktop.screenshot(path=str(out / f"{item.name}-desktop.png"), full_page=True)
    desktop.close()
    return Finding(
        item.name, phone_height, phone_width, gmail_width,
        int(item.html.with_suffix(".bytes").read_text()), bool(ATTENTION.search(first)),
        axe, doiuse(item.html, "gmail.*,apple-mail.*"), doiuse(item.html, "outlook.windows"),
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=ROOT / "preview" / "checks")
    parser.add_argument("--no-limits", action="store_true", help="report only; exit 0")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # pages are opened as file:// URIs
    args.out.mkdir(parents=True, exist_ok=True)
    install_node_packages()
    emails = [*render_site(args.site.resolve(), args.out), render_alert(args.out)]
    from playwright.sync_api import sync_playwright

    failed = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for item in emails:
            finding = look(browser, item, args.out)
            problems = finding.problems(item.kind)
            failed |= bool(problems)
            print(f"{item.name}: {finding.phone_height} px on a phone, {finding.html_bytes:,} bytes "
                  f"of HTML, axe {len(finding.axe)}, doiuse {len(finding.doiuse)}, "
                  f"outlook {len(finding.outlook)}" + ("" if problems else ": ok"))  # fmt: skip
            for problem in problems:
                print(f"  {problem}")
        browser.close()
    return 0 if args.no_limits or not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
