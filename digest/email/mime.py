"""The MIME message a variant's recipients share, with slots for their own headers and bodies."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from digest.email.charts import Chart
from digest.model import Occurrence, Site

__all__ = ["HTML_SLOT", "TEXT_SLOT", "sender_domain", "skeleton"]

TEXT_SLOT = b"__digest_text_body__"
HTML_SLOT = b"__digest_html_body__"


def sender_domain(site: Site) -> str:
    """The domain of the sender address, for Message-IDs and List-Id."""
    return _domain(site.settings.sender)


@lru_cache(maxsize=64)
def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def skeleton(
    site: Site, occurrence: Occurrence, subject: str, charts: Sequence[Chart], clinic: str = ""
) -> bytes:
    """The message shared by a variant's recipients, with slots for their headers and bodies.

    multipart/alternative: text first, then HTML with its charts as related CID parts. Built
    once per variant because the email package is slow: personalising is then byte splicing.
    """
    message = EmailMessage(policy=SMTP)
    sender_name, sender_address = parseaddr(site.settings.sender)
    message["From"] = Address(sender_name, addr_spec=sender_address)
    if site.settings.reply_to:
        message["Reply-To"] = site.settings.reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(occurrence.due)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message["List-Id"] = f"<{occurrence.schedule.id}.{sender_domain(site)}>"
    message.set_content(TEXT_SLOT.decode(), cte="quoted-printable")
    message.add_alternative(HTML_SLOT.decode(), subtype="html", cte="quoted-printable")
    html_part = list(message.iter_parts())[1]
    for chart in charts:
        html_part.add_related(
            chart.png,
            maintype="image",
            subtype="png",
            cid=f"<{chart.cid}>",
            disposition="inline",
            filename=f"{chart.cid.partition('@')[0]}.png",
        )
    if clinic:  # multipart/mixed: the alternative bodies, then the invitation
        message.add_attachment(clinic, subtype="calendar", filename="performance-clinic.ics",
                               params={"method": "PUBLISH"})  # fmt: skip
    return message.as_bytes()
