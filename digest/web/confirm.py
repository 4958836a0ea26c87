"""The email that confirms a deep-dive request, queued in the outbox like any digest.

`digest run` (or `digest retry`) sends it with everything else that is due.
"""

from __future__ import annotations

import json
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from digest.calendar import deep_dive_deadline
from digest.calendar.words import format_date, format_long_date
from digest.delivery import outbox
from digest.delivery.answers import StoredRequest
from digest.email.mime import sender_domain
from digest.email.render import check_header, check_recipient
from digest.model import Measure, OutgoingMessage, Publication, Recipient, delivery_key, message_id
from digest.web.context import WebContext

CONFIRMATION_SCHEDULE_ID = "deep-dive-request"


def confirmation(
    ctx: WebContext,
    recipient: Recipient,
    measure: Measure,
    publication: Publication,
    request: StoredRequest,
) -> OutgoingMessage:
    """One plain-text email to the member: what they asked for, and what happens next."""
    site = ctx.site
    occurrence_key = f"{publication.key}:{measure.id}"
    key = delivery_key(CONFIRMATION_SCHEDULE_ID, occurrence_key, recipient.id)
    subject = f"Deep-dive request received: {measure.title}"
    check_header(subject, "subject")
    mail = EmailMessage(policy=SMTP)
    name, address = parseaddr(site.settings.sender)
    mail["From"] = Address(name, addr_spec=address)
    if site.settings.reply_to:
        mail["Reply-To"] = site.settings.reply_to
    mail["To"] = check_recipient(recipient)
    mail["Subject"] = subject
    mail["Date"] = format_datetime(ctx.clock())
    mail["Message-ID"] = msg_id = message_id(key, sender_domain(site))
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(_text(ctx, recipient, measure, publication, request))
    figures = {"measure": measure.id, "publication": publication.key, "note": request.note}
    return OutgoingMessage(
        delivery_key=key,
        schedule_id=CONFIRMATION_SCHEDULE_ID,
        occurrence_key=occurrence_key,
        recipient=recipient,
        subject=subject,
        message_id=msg_id,
        raw=mail.as_bytes(),
        figures=json.dumps(figures, ensure_ascii=False),
    )


def _text(
    ctx: WebContext,
    recipient: Recipient,
    measure: Measure,
    publication: Publication,
    request: StoredRequest,
) -> str:
    deadline = deep_dive_deadline(publication, ctx.site.settings)
    lines = [
        f"Dear {recipient.name},",
        "",
        f'Your request for a deep dive on "{measure.title}" is recorded',
        f"({publication.scorecard} scorecard for the period ending "
        f"{format_date(publication.period_end)}).",
    ]
    if request.note:
        lines += ["", "What you want to understand:", request.note]
    lines += [
        "",
        f"Requests close at {ctx.site.settings.deep_dive_closes:%H:%M} on {format_long_date(deadline)}. The performance team",
        "will then convene a performance clinic on the measures members asked about.",
        "",
        ctx.site.settings.name,
    ]
    return "\n".join(lines) + "\n"


def queue_confirmation(
    ctx: WebContext,
    recipient: Recipient,
    measure: Measure,
    publication: Publication,
    request: StoredRequest,
) -> None:
    """Queue the confirmation; asking again never queues a second one."""
    message = confirmation(ctx, recipient, measure, publication, request)
    outbox.enqueue(ctx.store, [message], ctx.clock())
