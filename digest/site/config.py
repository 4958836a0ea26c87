"""Reads recipients.toml and schedules.toml into frozen, typed objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from email.utils import getaddresses, parseaddr
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from digest.errors import Problem
from digest.model import (
    DataSettings,
    DeliveryTable,
    Recipient,
    Schedule,
    SiteSettings,
    Span,
    Trigger,
)
from digest.settings import DATA, DELIVERY, NATIONS, SCHEDULE, SITE
from digest.site.fields import ID_PATTERN, Table
from digest.site.headers import header_problem
from digest.site.toml import TomlLines, TomlSyntaxError, parse

RECIPIENTS = "recipients.toml"
SCHEDULES = "schedules.toml"


@dataclass
class Config:
    """What the two TOML files say, with every problem found in them."""

    settings: SiteSettings | None = None
    delivery: DeliveryTable = field(default_factory=DeliveryTable)
    data: DataSettings = field(default_factory=DataSettings)
    recipients: list[Recipient] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # where each schedule and recipient was written, for cross-checks by site.py
    schedule_tables: list[Table] = field(default_factory=list)
    recipient_tables: list[Table] = field(default_factory=list)
    # Ids (and role:NAME of the roles) of recipient tables that did not parse, so that
    # what names them is not re-reported.
    unreadable_recipients: set[str] = field(default_factory=set)
    site_table: Table | None = None
    delivery_table: Table | None = None  # for the chosen transport's own checks


def email_problem(address: str) -> str | None:
    """Why an address is not a usable email address, or None. A name before the @ that
    is not ASCII needs SMTPUTF8, which digest does not ask of the mail server."""
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return f'"{address}" is not a valid email address: {exc}'
    return None


def ascii_address(address: str) -> str:
    """The address as it goes on the wire: an internationalised domain in its ASCII
    (punycode) form; a plain address exactly as written."""
    if address.isascii():
        return address
    return str(validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email)


def read_config(root: Path, kinds: Mapping[str, Trigger] | None = None) -> Config:
    """Read both TOML files of a site; problems are collected, not raised.

    `kinds` are the digest kinds a schedule may name, with their triggers (the email
    layer registers them); without it, any kind name is taken as written.
    """
    config = Config()
    recipients = _load(root, RECIPIENTS, config.problems)
    if recipients is not None:
        _read_recipients(*recipients, config)
    schedules = _load(root, SCHEDULES, config.problems)
    if schedules is not None:
        _read_schedules(*schedules, config, kinds)
    return config


def _load(
    root: Path, name: str, problems: list[Problem]
) -> tuple[dict[str, Any], TomlLines] | None:
    path = root / name
    if path.exists() and not path.is_file():  # a pipe would make the read wait for ever
        problems.append(Problem(name, 1, "not a regular file: it must be a TOML file"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(name, 1, f"file not found in {root}: create it (see README)"))
        return None
    except UnicodeDecodeError:
        problems.append(Problem(name, 1, "not UTF-8 text: save it as UTF-8"))
        return None
    except OSError as exc:  # a folder, say, where the file should be
        problems.append(Problem(name, 1, f"cannot be read ({exc.strerror}): it must be a TOML file"))
        return None
    try:
        return parse(text)
    except TomlSyntaxError as exc:
        problems.append(Problem(name, exc.line, exc.message))
        return None


def _tables(
    data: dict[str, Any], lines: TomlLines, file: str, name: str, config: Config
) -> list[Table]:
    raw = data.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        config.problems.append(Problem(file, lines.table(name), f"write each {name} as [[{name}]]"))
        return []
    return [Table(file, lines, name, i, item, config.problems) for i, item in enumerate(raw)]


def _read_recipients(data: dict[str, Any], lines: TomlLines, config: Config) -> None:
    top = Table(RECIPIENTS, lines, "", 0, data, config.problems)
    top.check_keys(["recipient"])
    tables = _tables(data, lines, RECIPIENTS, "recipient", config)
    for recipient, table in _unique(tables, _read_recipient, "recipient"):
        config.recipients.append(recipient)
        config.recipient_tables.append(table)
    read = {r.id for r in config.recipients}
    for table in tables:
        ident, roles = table.data.get("id"), table.data.get("roles")
        if isinstance(ident, str) and ident not in read:
            config.unreadable_recipients.add(ident)
            if isinstance(roles, list):
                config.unreadable_recipients.update(
                    f"role:{r}" for r in roles if isinstance(r, str)
                )


Read = TypeVar("Read", Recipient, Schedule)


def _unique(
    tables: list[Table], read: Callable[[Table], Read | None], what: str
) -> Iterator[tuple[Read, Table]]:
    """Each table read, except those that fail or reuse an id (reported with the first line)."""
    seen: dict[str, int] = {}
    for table in tables:
        item = read(table)
        if item is None:
            continue
        if item.id in seen:
            message = (
                f'{what} id "{item.id}" is already used on line {seen[item.id]}: ids must be unique'
            )
            table.problem("id", message)
            continue
        seen[item.id] = table.line("id")
        yield item, table


def _read_recipient(table: Table) -> Recipient | None:
    table.check_keys(["id", "name", "email", "roles", "themes", "active"])
    ident = table.identifier("id")
    name = table.checked("name", table.text("name"), partial(header_problem, what="name"))
    email = table.checked("email", table.text("email"), email_problem)
    roles = table.checked("roles", table.words("roles"), _roles_problem)
    themes = table.words("themes", ())
    active = table.get("active", bool, "true or false", True)
    if ident is None or name is None or email is None or roles is None or themes is None:
        return None
    return Recipient(ident, name, ascii_address(email), roles, themes, bool(active))


def _roles_problem(roles: tuple[str, ...]) -> str | None:
    if not roles:
        return 'roles must name at least one role, like ["member"]'
    bad = [r for r in roles if not ID_PATTERN.match(r)]
    return f"roles must be single words (a-z, 0-9, hyphens): {', '.join(bad)}" if bad else None


def _read_schedules(
    data: dict[str, Any], lines: TomlLines, config: Config, kinds: Mapping[str, Trigger] | None
) -> None:
    top = Table(SCHEDULES, lines, "", 0, data, config.problems)
    top.check_keys(["site", "delivery", "data", "web", "retention", "schedule"])  # [web], [retention]: own modules
    site = data.get("site")
    if not isinstance(site, dict):
        top.problem(None, "missing the [site] table: add [site] with name, timezone and sender")
    else:
        config.site_table = Table(SCHEDULES, lines, "site", 0, site, config.problems)
        config.settings = _read_site(config.site_table)
    delivery = data.get("delivery", {})
    if isinstance(delivery, dict):
        config.delivery_table = Table(SCHEDULES, lines, "delivery", 0, delivery, config.problems)
        config.delivery = _read_delivery(config.delivery_table)
    data_table = data.get("data", {})
    if isinstance(data_table, dict):
        config.data = _read_data(Table(SCHEDULES, lines, "data", 0, data_table, config.problems))
    else:
        top.problem("data", "write [data] as a table of settings")
    tables = _tables(data, lines, SCHEDULES, "schedule", config)
    for schedule, table in _unique(tables, partial(_read_schedule, kinds=kinds), "schedule"):
        config.schedules.append(schedule)
        config.schedule_tables.append(table)


def _read_data(table: Table) -> DataSettings:
    """[data]; a bad value is a problem at its line, and its default is used meanwhile."""
    table.check_keys(DATA.keys())
    units = ("days", "working days")
    monthly = table.span("monthly_due", units, DATA["monthly_due"].default)
    quarterly = table.span("quarterly_due", units, DATA["quarterly_due"].default)
    default = DataSettings()
    return DataSettings(monthly or default.monthly_due, quarterly or default.quarterly_due)


def _read_site(table: Table) -> SiteSettings | None:
    table.check_keys(SITE.keys())
    name = table.text("name")
    timezone = table.checked("timezone", table.text("timezone"), _timezone_problem)
    nation = table.choice("holidays", NATIONS, SITE["holidays"].default)
    closures = table.dates("closures")
    sender = table.checked("sender", table.text("sender"), _sender_problem)
    reply_to = table.checked("reply_to", table.text("reply_to", None), email_problem)
    alerts_to = table.checked("alerts_to", table.words("alerts_to"), _nonempty("alerts_to"))
    window = table.span(
        "deep_dive_window", ("days", "working days"), SITE["deep_dive_window"].default
    )
    closes = table.clock("deep_dive_closes") or _clock(SITE["deep_dive_closes"].default)
    if name is None or timezone is None or nation is None or sender is None:
        return None
    if alerts_to is None or window is None:
        return None
    return SiteSettings(
        name=name,
        timezone=timezone,
        holidays=nation,
        sender=sender,
        alerts_to=alerts_to,
        deep_dive_window=window,
        closures=closures,
        reply_to=reply_to,
        deep_dive_closes=closes,
    )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _timezone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f'timezone "{name}" is not an IANA time zone name, like "Europe/London"'
    return None


def _sender_problem(sender: str) -> str | None:
    # parseaddr keeps the first of several addresses and drops the rest without a word.
    if len(getaddresses([sender])) != 1 or any(c in sender for c in "\r\n"):
        return f'sender "{sender}" must be one address, like "Performance Team <performance@example.gov.uk>"'
    _, address = parseaddr(sender)
    if not address:
        return f'sender "{sender}" must be like "Performance Team <performance@example.gov.uk>"'
    problem = email_problem(address)
    return f"sender: {problem}" if problem else None


def _nonempty(key: str) -> Any:
    def check(values: tuple[str, ...]) -> str | None:
        return f"{key} must name at least one recipient or role" if not values else None

    return check


def _read_delivery(table: Table) -> DeliveryTable:
    """Keep [delivery] as written: the chosen transport checks and reads its own keys."""
    transport = table.data.get("transport", DELIVERY["transport"].default)
    return DeliveryTable(
        transport=transport if isinstance(transport, str) else "",
        values=MappingProxyType(dict(table.data)),
        file=table.file,
        line=table.line(),
        lines=MappingProxyType({key: table.line(key) for key in table.data}),
    )


def _read_schedule(table: Table, kinds: Mapping[str, Trigger] | None) -> Schedule | None:
    table.check_keys(SCHEDULE.keys())
    ident = table.identifier("id")
    kind = table.choice("digest", tuple(kinds)) if kinds is not None else table.identifier("digest")
    to = table.checked("to", table.words("to"), _nonempty("to"))
    cron = table.text("cron", None)
    after = table.text("after", None)
    working = table.get(
        "working_days_only", bool, "true or false", SCHEDULE["working_days_only"].default
    )
    measures = table.words("measures", ())
    catch_up = table.span("catch_up", ("minutes", "hours", "days"), SCHEDULE["catch_up"].default)
    offset = table.span("offset", ("days", "working days"), None)
    before = table.span("before_deadline", ("days", "working days"), None)
    at = table.clock("at")
    sign_off = table.words("sign_off", SCHEDULE["sign_off"].default)
    wait = table.span("wait_for_data", ("days", "working days"), SCHEDULE["wait_for_data"].default)
    trigger = kinds.get(kind) if kinds is not None and kind is not None else None
    _check_trigger(table, kind, trigger, cron, after, offset, before, at)
    if ident is None or kind is None or to is None or measures is None or catch_up is None:
        return None
    if cron is None and after is None:
        return None
    return Schedule(
        id=ident,
        digest=kind,
        to=to,
        cron=cron,
        working_days_only=bool(working),
        measures=measures,
        catch_up=catch_up.as_timedelta() if catch_up else timedelta(hours=12),
        after=after,
        offset=offset,
        before_deadline=before,
        at=at,
        sign_off=sign_off or (),
        wait_for_data=wait or Span(3, "working days"),
    )


def _check_trigger(
    table: Table,
    kind: str | None,
    trigger: Trigger | None,
    cron: str | None,
    after: str | None,
    offset: Span | None,
    before: Span | None,
    at: object,
) -> None:
    if cron is not None and after is not None:
        table.problem("after", 'a schedule has either "cron" or "after", never both: remove one')
    elif cron is None and after is None:
        table.problem(
            None, f'{table.label} needs "cron" (a time) or "after" (a scorecard publication)'
        )
    if cron is not None:
        for key, value in (("offset", offset), ("before_deadline", before), ("at", at)):
            if value is not None:
                table.problem(key, f'"{key}" goes with "after", not with "cron": remove it')
    if offset is not None and before is not None:
        table.problem("before_deadline", 'use "offset" or "before_deadline", not both')
    if trigger == "publication" and cron is not None:
        table.problem(
            "cron",
            f'digest "{kind}" follows a publication: use after = "SCORECARD" instead of cron',
        )
