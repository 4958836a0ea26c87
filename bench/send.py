"""The three ways of sending the tracker that the benchmark compares, each run in a child process.

`python -m bench.send MODE SITE PORT COUNT` prints one JSON object:

- `digest`: the monthly tracker to every member through `Service.run` (compose, render,
  outbox on SQLite, SMTP) -- what `digest send` does.
- `ceiling`: COUNT messages already built (taken from the digest run's outbox) sent with
  bare aiosmtplib over one connection: as fast as this client and server can go.
- `naive`: COUNT members' messages built the way a one-off script would: the templates,
  the charts and premailer per message, then a new SMTP connection per message.
- `naive-charts-once`: the same, but with the charts drawn once (generous to the script).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import smtplib
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from time import perf_counter
from typing import Any

import aiosmtplib
import sqlalchemy as sa

from bench.generate import PUBLISHED_ON, TRACKER
from digest import calendar
from digest.delivery.service import Service
from digest.delivery.store import DELIVERY, SENT_MESSAGE, open_store, unpack
from digest.delivery.transports import SmtpTransport, Transport
from digest.delivery.transports.smtp import SmtpSettings
from digest.email.charts import ChartCache
from digest.email.compose import Variant, compose
from digest.email.render import environment, inline_css, template_context
from digest.insight import indicators
from digest.model import Occurrence, Site
from digest.site.load import LoadedSite, load_site

SENDER = "performance@bench.example.gov.uk"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def smtp_to(port: int) -> Callable[[Site], Transport]:
    """digest's own SMTP transport, pointed at the counting server on loopback."""
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none")
    return lambda site: SmtpTransport(settings, site.settings.sender)


def tracker_occurrence(loaded: LoadedSite) -> Occurrence:
    schedule = loaded.site.schedule(TRACKER)
    assert schedule is not None
    occurrence = calendar.occurrence_on(loaded.site, schedule, PUBLISHED_ON)
    assert occurrence is not None
    return occurrence


def run_digest(root: Path, port: int, url: str | None = None, workers: int = 1) -> dict[str, Any]:
    """One `Service.run` of the tracker: every member's message, end to end (`url`: another
    database than the site's SQLite file; `workers`: connections at once)."""
    started = perf_counter()
    loaded = load_site(root, PUBLISHED_ON)
    state = open_store(root, url)
    loaded_after = perf_counter() - started
    first_sent: list[float] = []

    def progress(*_: object) -> None:
        if not first_sent:
            first_sent.append(perf_counter())

    service = Service(loaded, state, smtp_to(port), lambda: datetime.now(UTC), progress=progress,
                      workers=workers)  # fmt: skip
    start = perf_counter()
    outcome = asyncio.run(service.run(tracker_occurrence(loaded)))
    seconds = perf_counter() - start
    return {
        "seconds": seconds,
        "load_seconds": loaded_after,
        "queued_after": first_sent[0] - start if first_sent else seconds,
        "added": outcome.added,
        "sent": outcome.delivery.sent,
        "problems": len(loaded.problems) + len(outcome.skipped),
        "peak_rss_mb": peak_rss_mb(),
        "stored_bytes": stored_bytes(state.engine),
    }


def stored_bytes(engine: sa.Engine) -> int:
    """What the outbox keeps of the messages' content: their own bytes, recipes and figures,
    and the parts their variants share (kept once)."""
    own = ("SELECT coalesce(sum(length(raw)) + sum(length(figures))"
           " + sum(coalesce(length(recipe), 0)) + sum(coalesce(length(figures_part), 0)), 0)"
           " FROM sent_message")  # fmt: skip
    shared = "SELECT coalesce(sum(length(data)) + sum(length(key)), 0) FROM message_part"
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(own).scalar_one()) + int(
            connection.exec_driver_sql(shared).scalar_one()
        )


def fresh_postgres_schema() -> str:
    """A new schema in DIGEST_BENCH_POSTGRES_URL's database, as a URL that uses it."""
    base = os.environ.get(
        "DIGEST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def built_messages(root: Path, count: int) -> list[tuple[str, bytes]]:
    """About a hundred of the messages the digest run stored, spread over its variants."""
    step = max(count // 100, 1)
    state = open_store(root, f"sqlite+pysqlite:///{root / '.digest' / 'state.db'}")
    query = (
        sa.select(DELIVERY.c.email, SENT_MESSAGE)
        .join(SENT_MESSAGE, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id)
        .where(DELIVERY.c.schedule_id == TRACKER, DELIVERY.c.id % step == 0)
        .order_by(DELIVERY.c.id)
    )
    try:
        with state.transaction() as connection:
            rows = connection.execute(query).all()
            bodies = unpack(connection, rows)  # the exact bytes, rebuilt from their parts
    finally:
        state.close()
    return [(str(row.email), raw) for row, (raw, _) in zip(rows, bodies, strict=True)]


async def send_ceiling(port: int, messages: list[tuple[str, bytes]], count: int) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
    start = perf_counter()
    await client.connect()
    for n in range(count):
        email, raw = messages[n % len(messages)]
        await client.sendmail(SENDER, [email], raw)
    await client.quit()
    return perf_counter() - start


def run_ceiling(root: Path, port: int, count: int) -> dict[str, Any]:
    messages = built_messages(root, count)
    seconds = asyncio.run(send_ceiling(port, messages, count))
    size = sum(len(raw) for _, raw in messages) / len(messages)
    return {"seconds": seconds, "sent": count, "mean_bytes": size, "peak_rss_mb": peak_rss_mb()}


def naive_message(site: Site, variant: Variant, name: str, email: str, charts: dict[str, Any],
                  templates: Path) -> EmailMessage:  # fmt: skip
    """One member's message as a script would build it: render, inline, assemble."""
    env = environment(templates)
    context = template_context(variant.content, charts, greeting_name=name)
    message = EmailMessage()
    message["From"] = site.settings.sender
    message["To"] = f"{name} <{email}>"
    message["Subject"] = env.get_template("tracker/subject.txt").render(context).strip()
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="bench.example.gov.uk")
    message.set_content(env.get_template("tracker/body.txt").render(context))
    html = inline_css(env.get_template("tracker/body.html").render(context))
    message.add_alternative(html, subtype="html")
    html_part = list(message.iter_parts())[1]
    for chart in charts.values():
        html_part.add_related(chart.png, maintype="image", subtype="png", cid=f"<{chart.cid}>")
    return message


def run_naive(root: Path, port: int, count: int, *, charts_once: bool) -> dict[str, Any]:
    """`count` members' messages the one-off way: the figures are worked out once; the
    charts are drawn per message as a script rendering each email would (or once, when
    `charts_once`, to be generous to it)."""
    loaded = load_site(root, PUBLISHED_ON)
    occurrence = tracker_occurrence(loaded)
    site = loaded.site
    statuses = indicators.compute(site.measures, loaded.observations, occurrence.on)
    members = site.audience(occurrence.schedule.to)[:count]
    variants = compose(site, occurrence, statuses, members)
    cache = ChartCache()
    start = perf_counter()
    for variant in variants:
        for member in variant.recipients:
            if not charts_once:
                cache = ChartCache()
            charts = {
                view.id: chart
                for section in variant.content.sections
                for view in section.measures
                if (chart := cache.chart(view.status)) is not None
            }
            message = naive_message(
                site, variant, member.name, member.email, charts, root / "templates" / "email"
            )
            with smtplib.SMTP("127.0.0.1", port) as server:
                server.send_message(message)
    seconds = perf_counter() - start
    return {"seconds": seconds, "sent": len(members), "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str]) -> None:
    mode, root, port, count = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    if mode == "digest":
        result = run_digest(root, port)
    elif mode == "digest-workers2":
        result = run_digest(root, port, f"sqlite+pysqlite:///{root / '.digest' / 'workers2.db'}", 2)
    elif mode == "digest-postgres":
        result = run_digest(root, port, fresh_postgres_schema())
    elif mode == "ceiling":
        result = run_ceiling(root, port, count)
    else:
        result = run_naive(root, port, count, charts_once=mode == "naive-charts-once")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
