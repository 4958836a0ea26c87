"""Approving or holding an occurrence that needs sign-off: the CLI and the team's pages."""

from __future__ import annotations

from dataclasses import dataclass

from digest.delivery import answers, signoff
from digest.delivery.service import RunOutcome, Service
from digest.email.prepare import batch_for
from digest.errors import UsageError
from digest.model import Occurrence, OutgoingMessage


@dataclass(frozen=True)
class Approval:
    """What approving did: the content approved and, when its time had come, the run."""

    content_hash: str
    run: RunOutcome | None


def current_messages(service: Service, occurrence: Occurrence) -> list[OutgoingMessage]:
    """The occurrence's messages as they would be sent now (the same code as a run)."""
    loaded = answers.with_answers(service.loaded, service.store)
    return [rendered.outgoing for rendered in batch_for(loaded, occurrence)]


def check_approver(service: Service, occurrence: Occurrence, by: str) -> None:
    """Refuse anyone not named by the schedule's `sign_off`."""
    schedule = occurrence.schedule
    if not schedule.sign_off:
        raise UsageError(f'"{schedule.id}" needs no sign-off (no sign_off in schedules.toml)')
    approvers = {r.id for r in service.site.audience(schedule.sign_off)}
    if by not in approvers:
        names = ", ".join(sorted(approvers)) or "nobody"
        raise UsageError(f'"{by}" may not sign off {schedule.id} (approvers: {names})')


async def approve(service: Service, occurrence: Occurrence, by: str) -> Approval:
    """Record an approval of the content as it is now; send it if its time has come."""
    check_approver(service, occurrence, by)
    digest_hash = signoff.content_hash(current_messages(service, occurrence))
    signoff.record(service.store, occurrence, digest_hash, signoff.APPROVED, by, service.clock())
    if occurrence.due > service.clock():
        return Approval(digest_hash, None)
    return Approval(digest_hash, await service.run(occurrence))


def hold(service: Service, occurrence: Occurrence, by: str) -> str:
    """Record a hold of the content as it is now (a later approval lifts it)."""
    check_approver(service, occurrence, by)
    digest_hash = signoff.content_hash(current_messages(service, occurrence))
    signoff.record(service.store, occurrence, digest_hash, signoff.HELD, by, service.clock())
    return digest_hash
