"""Sign-off: an occurrence of a schedule with `sign_off` is sent only once approved.

An approval names the content it covers (a hash of every message's recipient,
subject and figures), so figures that change after it need approving again.
Every approval and hold is kept: who, when, which content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from digest.delivery.store import Store, UtcDateTime
from digest.email.words import schedule_title
from digest.model import Alert, Occurrence, OutgoingMessage, Schedule

APPROVED, HELD = "approved", "held"
ACTIONS = (APPROVED, HELD)


class SignOff(SQLModel, table=True):
    """One approval or hold of one occurrence's content."""

    __tablename__ = "sign_off"

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(max_length=100)
    occurrence_key: str = Field(max_length=100)
    content_hash: str = Field(max_length=64)
    action: str = Field(max_length=16)
    by: str = Field(max_length=100)
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)


SIGN_OFF: sa.Table = SignOff.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Decision:
    """An approval or hold as the CLI and the team's pages show it."""

    schedule_id: str
    occurrence_key: str
    content_hash: str
    action: str
    by: str
    at: datetime


def content_hash(messages: Iterable[OutgoingMessage]) -> str:
    """What an approval covers: every recipient's subject and figures, in a fixed order."""
    parts = sorted(
        (m.recipient.id, m.subject, json.loads(m.figures) if m.figures else None) for m in messages
    )
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(store: Store, occurrence: Occurrence, digest_hash: str, action: str, by: str,
           now: datetime) -> None:  # fmt: skip
    """Keep one approval or hold."""
    if action not in ACTIONS:
        raise ValueError(f"unknown sign-off action {action!r}")
    values = {
        "schedule_id": occurrence.schedule.id, "occurrence_key": occurrence.key,
        "content_hash": digest_hash, "action": action, "by": by, "at": now,
    }  # fmt: skip
    with store.transaction() as connection:
        connection.execute(SIGN_OFF.insert().values(values))


def decisions(store: Store, schedule_id: str | None = None,
              occurrence_key: str | None = None) -> list[Decision]:  # fmt: skip
    """Approvals and holds, oldest first."""
    query = sa.select(SIGN_OFF).order_by(SIGN_OFF.c.at, SIGN_OFF.c.id)
    if schedule_id is not None:
        query = query.where(SIGN_OFF.c.schedule_id == schedule_id)
    if occurrence_key is not None:
        query = query.where(SIGN_OFF.c.occurrence_key == occurrence_key)
    with store.transaction() as connection:
        rows = connection.execute(query).mappings().all()
    return [Decision(**{k: v for k, v in row.items() if k != "id"}) for row in rows]


def is_approved(store: Store, occurrence: Occurrence, digest_hash: str) -> bool:
    """Whether the latest decision on this content is an approval."""
    latest = [
        d for d in decisions(store, occurrence.schedule.id, occurrence.key)
        if d.content_hash == digest_hash
    ]  # fmt: skip
    return bool(latest) and latest[-1].action == APPROVED


def approve_command(occurrence: Occurrence) -> str:
    """The CLI line that approves an occurrence."""
    return f"digest approve {occurrence.schedule.id} --on {occurrence.on.isoformat()} --by ID"


def held_alert(occurrence: Occurrence, digest_hash: str, approved_before: bool) -> Alert:
    """Told to the approvers and alerts_to: the occurrence is held until approved."""
    why = ("the figures changed since they were approved" if approved_before
           else "it has not been approved")  # fmt: skip
    return Alert(
        key=Alert.key_for("held", f"{occurrence.schedule.id}:{occurrence.key}:{digest_hash}"),
        title=f"{schedule_title(occurrence.schedule.id)} ({occurrence.key}) is held: {why}",
        details=(
            f"Due {occurrence.due.isoformat(timespec='minutes')}; nothing is sent until "
            "one of its approvers signs it off.",
            f"Look at it with: digest preview {occurrence.schedule.id} --on {occurrence.on}",
            f"Approve it with: {approve_command(occurrence)}",
        ),
        action="Look at it, then approve it on the team's page (/staff) or with the command "
               "above: it goes as soon as it is approved.",
    )


def ready_alert(occurrence: Occurrence, digest_hash: str) -> Alert:
    """Told to the approvers ahead of its time: prepared, these figures, awaiting sign-off."""
    moment = occurrence.due
    due = f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M}"
    return Alert(
        key=Alert.key_for("ready", f"{occurrence.schedule.id}:{occurrence.key}:{digest_hash}"),
        title=f"{schedule_title(occurrence.schedule.id)} ({occurrence.key}) is ready for "
              f"sign-off: due {due}",
        details=(
            f"Its figures are fixed as rendered now (content {digest_hash[:12]}); if the data "
            "change before it goes, it needs approving again.",
            f"Look at it with: digest preview {occurrence.schedule.id} --on {occurrence.on}",
            f"Approve it with: {approve_command(occurrence)}",
        ),
        action="Look at it, then approve it on the team's page (/staff) or with the command "
               "below. It goes at its time only if approved; otherwise it is held and you are told.",
    )  # fmt: skip


def approvers_schedule(schedule: Schedule, alerts_to: tuple[str, ...]) -> Schedule:
    """The built-in alert schedule, addressed to the approvers and alerts_to."""
    to = tuple(dict.fromkeys(schedule.sign_off + alerts_to))
    return Schedule(id="alert", digest="alert", to=to)
