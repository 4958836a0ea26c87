"""Finds syntax errors in a site's email templates, with file and line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateSyntaxError

from digest import calendar
from digest.email.prepare import alert_occurrence, batch_for
from digest.errors import Problem
from digest.model import Alert, Occurrence, Schedule, Site
from digest.site.load import LoadedSite

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


def rendering_problems(loaded: LoadedSite, today: date) -> Iterator[Problem]:
    """Render one message of every schedule (and an alert) to catch template mistakes
    that only show when rendering, such as a misspelt variable."""
    site = loaded.site
    incomplete = set()
    for kind in sorted({*(s.digest for s in site.schedules), "alert"}):
        for name in REQUIRED_FILES:
            if not (site.root / TEMPLATE_DIR / kind / name).is_file():
                incomplete.add(kind)
                yield Problem(
                    f"{TEMPLATE_DIR}/{kind}/{name}", 1, f"missing: digest {kind} needs it"
                )
    for schedule in site.schedules:
        occurrence = _recent_occurrence(site, schedule, today)
        if occurrence is not None and schedule.digest not in incomplete:
            yield from _trial(loaded, occurrence)
    if "alert" not in incomplete:
        sample = Alert("check", "A sample alert", ("A line of detail.",))
        nine = calendar.resolve_local(today, time(9, 0), calendar.site_timezone(site.settings))
        yield from _trial(loaded, alert_occurrence(site, sample, nine), sample)


REQUIRED_FILES = ("subject.txt", "body.txt", "body.html")


def _recent_occurrence(site: Site, schedule: Schedule, today: date) -> Occurrence | None:
    """The schedule's occurrence of today or of its latest due day in the past fortnight."""
    for back in range(15):
        occurrence = calendar.occurrence_on(site, schedule, today - timedelta(days=back))
        if occurrence is not None:
            return occurrence
    return None


def _trial(
    loaded: LoadedSite, occurrence: Occurrence, alert: Alert | None = None
) -> Iterator[Problem]:
    site = loaded.site
    audience = site.audience(site.settings.alerts_to if alert else occurrence.schedule.to)
    if not audience:
        return
    try:
        for _ in batch_for(loaded, occurrence, alert=alert, recipient_ids=[audience[0].id]):
            pass
    except TemplateError as exc:
        yield located(site.root, occurrence.schedule.digest, exc)


def located(root: Path, kind: str, exc: Exception) -> Problem:
    """The template file and line an error was raised at (Jinja keeps them in the
    traceback); the kind's folder when it was raised outside any template."""
    folder = str(root / TEMPLATE_DIR)
    traceback = exc.__traceback__
    where: tuple[str, int] | None = None
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(folder):
            where = (Path(filename).relative_to(root).as_posix(), traceback.tb_lineno)
        traceback = traceback.tb_next
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if where is None and isinstance(exc, TemplateError):
        where = (f"{TEMPLATE_DIR}/{kind}/body.html", 1)
    if where is None:
        return Problem(f"{TEMPLATE_DIR}/{kind}", 1, f"digest {kind} could not be composed "
                       f"({type(exc).__name__}: {message}): 'digest check' names what to correct")  # fmt: skip
    return Problem(where[0], where[1], f"template error in digest {kind}: {message}")
