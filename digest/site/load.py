"""Loads a whole site folder: configuration, catalogue and data, cross-checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from digest import calendar
from digest.errors import ConfigError, Problem
from digest.model import LinkSigner, Site, Trigger
from digest.site.catalogue import (
    MEASURES,
    Catalogue,
    read_measures,
    read_publications,
    read_requests,
)
from digest.site.config import RECIPIENTS, Config, read_config
from digest.site.fields import Table, suggestion
from digest.site.observations import empty_frame, read_observations
from digest.site.rebases import read_rebases
from digest.site.retention import read_retention
from digest.site.web import read_web

# How a lower layer is told the transport's own checks without importing delivery.
DeliveryCheck = Callable[[Table], None]


@dataclass(frozen=True)
class LoadedSite:
    """A site with its observations, and the problems found on the way."""

    site: Site
    observations: pd.DataFrame
    problems: tuple[Problem, ...]
    # Signs members' answer links when the site has [web] and a key; None: mailto links.
    signer: LinkSigner | None = None
    # The email templates as last checked (`digest run`: the last good ones); None: read
    # them from templates/email as rendered.
    templates: tuple[Path, tuple[tuple[str, str], ...]] | None = None


def load_site(
    root: Path,
    today: date,
    *,
    with_observations: bool = True,
    delivery_check: DeliveryCheck | None = None,
    kinds: Mapping[str, Trigger] | None = None,
) -> LoadedSite:
    """Read and cross-check everything; raise ConfigError when the site cannot be used at all.

    `delivery_check` is the transport's check of its settings and `kinds` the digest
    kinds a schedule may name (both supplied from above: see digest.delivery.site).
    """
    config = read_config(root, kinds)
    if delivery_check is not None and config.delivery_table is not None:
        delivery_check(config.delivery_table)
    problems = config.problems  # cross-checks add to the same list through each Table
    catalogue = read_measures(root, problems)
    read_publications(root, catalogue, problems)
    read_requests(root, catalogue, problems)
    rebases = read_rebases(root, catalogue, problems)
    _cross_check(config, catalogue, problems)
    problems.extend(read_web(root)[1])
    problems.extend(read_retention(root)[1])
    if config.settings is None or not catalogue.measures:
        raise ConfigError(_sorted(problems))
    observations = (
        read_observations(root, catalogue.measures, today, problems, catalogue.unreadable)
        if with_observations
        else empty_frame()
    )
    site = Site(
        root=root,
        settings=config.settings,
        delivery=config.delivery,
        recipients=tuple(config.recipients),
        schedules=tuple(config.schedules),
        measures=tuple(catalogue.measures),
        publications=tuple(catalogue.publications),
        requests=tuple(catalogue.requests),
        rebases=tuple(rebases),
        data=config.data,
    )
    return LoadedSite(site, observations, tuple(_sorted(problems)))


def _sorted(problems: list[Problem]) -> list[Problem]:
    order = {RECIPIENTS: 0, "schedules.toml": 1, MEASURES: 2}
    return sorted(problems, key=lambda p: (order.get(p.file, 3), p.file, p.line))


def _cross_check(config: Config, catalogue: Catalogue, problems: list[Problem]) -> None:
    """What one file says of another: who receives, which measures, whose themes and owners."""
    _check_schedules(config, catalogue)
    _check_recipient_themes(config, catalogue)
    problems.extend(_owner_problems(config, catalogue))
    _check_requesters(config, catalogue)


def _targets(config: Config) -> set[str]:
    """Every `to` and `alerts_to` value that names someone: recipient ids and role:NAME."""
    recipients = {r.id for r in config.recipients}
    roles = {role for r in config.recipients for role in r.roles}
    return recipients | {f"role:{role}" for role in roles} | config.unreadable_recipients


def _check_schedules(config: Config, catalogue: Catalogue) -> None:
    targets = _targets(config)
    selectors = (
        {m.id for m in catalogue.measures}
        | catalogue.scorecards
        | {t for m in catalogue.measures for t in m.themes}
    )
    for schedule, table in zip(config.schedules, config.schedule_tables, strict=True):
        _check_targets(table, "to", schedule.to, targets)
        _check_targets(table, "sign_off", schedule.sign_off, targets)
        for selector in schedule.measures:
            if selector not in selectors:
                table.problem(
                    "measures",
                    f'measures: "{selector}" is not a measure id, theme or scorecard{suggestion(selector, selectors)}',
                )
        if schedule.after is not None and schedule.after not in catalogue.scorecards:
            table.problem(
                "after",
                f'after "{schedule.after}" is not a scorecard of {MEASURES}{suggestion(schedule.after, catalogue.scorecards)}',
            )
        if schedule.cron is not None:
            message = calendar.validate_cron(schedule.cron)
            if message:
                table.problem("cron", f'cron "{schedule.cron}": {message}')
    if config.settings is not None and config.site_table is not None:
        _check_targets(config.site_table, "alerts_to", config.settings.alerts_to, targets)


def _check_recipient_themes(config: Config, catalogue: Catalogue) -> None:
    themes = {t for m in catalogue.measures for t in m.themes}
    for recipient, table in zip(config.recipients, config.recipient_tables, strict=True):
        for theme in recipient.themes:
            if theme not in themes:
                table.problem(
                    "themes",
                    f'theme "{theme}" is not a theme of any measure in {MEASURES}{suggestion(theme, themes)}',
                )


def _owner_problems(config: Config, catalogue: Catalogue) -> Iterator[Problem]:
    recipients = {r.id for r in config.recipients}
    for measure in catalogue.measures:
        if measure.owner and measure.owner not in recipients | config.unreadable_recipients:
            yield Problem(
                MEASURES,
                catalogue.measure_lines[measure.id],
                f'owner "{measure.owner}" is not a recipient id in {RECIPIENTS}{suggestion(measure.owner, recipients)}',
            )


def _check_requesters(config: Config, catalogue: Catalogue) -> None:
    recipients = {r.id for r in config.recipients}
    for request, row in zip(catalogue.requests, catalogue.request_rows, strict=True):
        if request.requested_by in config.unreadable_recipients:
            continue  # the recipient's own table is reported
        if request.requested_by not in recipients:
            row.problem(
                f'requested_by "{request.requested_by}" is not a recipient id in {RECIPIENTS}{suggestion(request.requested_by, recipients)}'
            )


def _check_targets(table: Table, key: str, values: tuple[str, ...], targets: set[str]) -> None:
    for target in values:
        if target in targets:
            continue
        kind = "role of any recipient" if target.startswith("role:") else "recipient id"
        table.problem(
            key, f'{key}: "{target}" is not a {kind} in {RECIPIENTS}{suggestion(target, targets)}'
        )
