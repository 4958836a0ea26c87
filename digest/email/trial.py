"""Finds syntax errors in a site's email templates, with file and line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes

from digest import calendar
from digest.email.prepare import alert_occurrence, batch_for
from digest.email.render import environment
from digest.errors import Problem
from digest.model import Alert, Occurrence, Schedule, Site
from digest.site.fields import suggestion
from digest.site.load import LoadedSite

TEMPLATE_DIR = "templates/email"


def site_problems(loaded: LoadedSite, today: date) -> list[Problem]:
    """Everything `check` finds wrong with a loaded site; `send` and `run` refuse a site
    with any, so that what check passes is what they send, and nothing is half-sent."""
    if loaded.problems:
        return list(loaded.problems)  # a trial render needs a sound site
    syntax = list(template_problems(loaded.site.root))
    return syntax or list(rendering_problems(loaded, today))


def template_problems(root: Path) -> Iterator[Problem]:
    """Every template that does not compile, is empty, or names what no template gives
    it, as FILE:LINE: message; found by reading, so a branch never taken is checked too."""
    folder = root / TEMPLATE_DIR
    if not folder.is_dir():
        yield Problem(TEMPLATE_DIR, 1, "template folder not found: restore templates/email")
        return
    env = environment(folder.resolve())
    parsed: dict[str, nodes.Template] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        name = path.relative_to(root).as_posix()
        try:
            source = path.read_text(encoding="utf-8")
            parsed[name] = env.parse(source)
            meta.find_undeclared_variables(parsed[name])  # compiles: unknown filters and tests
        except UnicodeDecodeError:
            yield Problem(name, 1, "not UTF-8 text: save it as UTF-8")
        except OSError as exc:
            yield Problem(name, 1, f"cannot be read ({exc.strerror}): restore it")
        except TemplateSyntaxError as exc:
            parsed.pop(name, None)
            yield Problem(name, exc.lineno or 1, f"template syntax: {exc.message}")
        except (ValueError, RecursionError) as exc:  # Jinja's lexer and parser, on extremes
            parsed.pop(name, None)
            yield Problem(name, _line_of_extreme(source), f"template syntax: {_extreme(exc)}")
        else:
            if path.name in REQUIRED_FILES and not source.strip():
                yield Problem(name, 1, "empty: every digest needs a subject, a text body and an "
                              "HTML body; restore it from the repository")  # fmt: skip
    yield from _unknown_names(parsed, set(env.globals))


def _line_of_extreme(source: str) -> int:
    """The line of the first number too long for Python to read, else 1."""
    match = LONG_NUMBER.search(source)
    return source.count("\n", 0, match.start()) + 1 if match else 1


def _extreme(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply: take out the extra brackets or tags"
    return "a number too long to read (over 4,300 digits): shorten it"


LONG_NUMBER = re.compile(r"\d{4300,}")


def _unknown_names(parsed: dict[str, nodes.Template], known: set[str]) -> Iterator[Problem]:
    """Names used that no template binds and the render does not give: misspellings."""
    bound = known | GIVEN
    for tree in parsed.values():
        bound |= {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        bound |= {n.target for n in tree.find_all(nodes.Import)}
        bound |= {
            alias if isinstance(alias, str) else alias[-1]
            for n in tree.find_all(nodes.FromImport)
            for alias in n.names
        }
        bound |= {n.name for n in tree.find_all(nodes.Macro)}
    for name, tree in parsed.items():
        for node in tree.find_all(nodes.Name):
            if node.ctx == "load" and node.name not in bound:
                yield Problem(name, node.lineno, f'"{node.name}" is not something a template '
                              f"is given{suggestion(node.name, bound)}: check its spelling")  # fmt: skip
                bound.add(node.name)  # once


# What render gives every body template (see digest.email.render.template_context),
# and the names Jinja itself provides.
GIVEN = {"content", "charts", "greeting_name", "why", "loop", "caller", "varargs", "kwargs",
         "self", "super", "true", "false", "none", "True", "False", "None", "range", "dict",
         "lipsum", "cycler", "joiner", "namespace"}  # fmt: skip


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
    kind = occurrence.schedule.digest
    folder = f"{TEMPLATE_DIR}/{kind}"
    try:
        # Every variant's subject is rendered (and checked) as the batch is made; one
        # message's bodies are rendered when it is taken.
        batch = batch_for(loaded, occurrence, alert=alert, recipient_ids=[r.id for r in audience],
                          trial=True)  # fmt: skip
        for problem in dict.fromkeys(batch.bad_subjects):
            yield Problem(f"{folder}/subject.txt", 1, f"digest {kind}: {problem}; "
                          "send would skip its recipients")  # fmt: skip
        message = next(iter(batch), None)
    except Exception as exc:  # any error a template raises (1/0 too) is the template's
        yield located(site.root, kind, exc)
        return
    if message is not None:
        for body, text in (("body.html", message.html), ("body.txt", message.text)):
            if not text.strip():
                yield Problem(f"{folder}/{body}", 1, f"digest {kind}: the body renders empty: "
                              "it must say something")  # fmt: skip


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
