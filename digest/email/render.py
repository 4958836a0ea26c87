"""Content variants to finished emails: Jinja2, CSS inlined once per variant, PNG charts."""

from __future__ import annotations

import base64
import binascii
import html
import re
import textwrap
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from functools import cached_property, lru_cache
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from digest.email.charts import Chart, ChartCache
from digest.email.compose import ID_TOKEN, NAME_TOKEN, Content, Variant, compose
from digest.email.content import LINK_TOKEN, WHY_TOKEN, link_token
from digest.email.inline import inline_css
from digest.email.mime import HTML_SLOT, TEXT_SLOT, sender_domain, skeleton
from digest.email.words import GLOSSARY
from digest.errors import HeaderInjectionError
from digest.model import (
    Alert,
    LastSent,
    LinkSigner,
    MeasureStatus,
    Occurrence,
    OutgoingMessage,
    Recipient,
    Site,
    delivery_key,
    message_id,
)
from digest.site.headers import header_problem

TEXT_WIDTH = 76
MIN_SHARED = 200  # bytes: a shared piece shorter than this is kept with each message
LABEL_WIDTH = 26
TOKENS = re.compile(f"{NAME_TOKEN}|{ID_TOKEN}|{WHY_TOKEN}|{LINK_TOKEN.pattern}")
BLANK_RUNS = re.compile(r"\n{3,}")
# A To line with words of plain letters and digits and a plain address, short enough
# not to fold: the email package would write it exactly as it is.
PLAIN_TO = re.compile(r"To: [A-Za-z0-9]+(?: [A-Za-z0-9]+)* <[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+>\r\n")
MAX_PLAIN_TO = 78


@dataclass(frozen=True)
class RenderedMessage:
    """One recipient's finished email, with its HTML and text bodies for previews."""

    outgoing: OutgoingMessage
    html: str
    text: str


@dataclass(frozen=True)
class Skipped:
    """A recipient who gets nothing from this batch, and why."""

    recipient_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.reason}"


@dataclass(frozen=True)
class QuotedBody:
    """A body as quoted-printable, encoded once but for its lines with tokens.

    Quoted-printable encodes each CRLF-ended line on its own, so the lines without a
    token are encoded once per variant and only the greeting's line once per recipient.
    """

    parts: tuple[bytes | str, ...]  # encoded lines, or a line (CRLF included) with tokens

    @classmethod
    def of(cls, body: str) -> QuotedBody:
        lines = body.replace("\r\n", "\n").replace("\n", "\r\n").split("\r\n")
        ended = [line + "\r\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
        parts: list[bytes | str] = []
        for has_token, run in groupby(ended, key=lambda line: TOKENS.search(line) is not None):
            group = list(run)
            parts += group if has_token else [quoted_lines("".join(group))]
        return cls(tuple(parts))

    def fill(self, values: dict[str, str]) -> bytes:
        """The encoded body with the tokens replaced by `values`."""
        return b"".join(data for data, _ in self.pieces(values))

    def pieces(self, values: dict[str, str]) -> Iterator[tuple[bytes, bool]]:
        """The encoded body in pieces, each with whether every recipient shares it."""
        for part in self.parts:
            if isinstance(part, bytes):
                yield part, True
            else:
                yield quoted_lines(fill_tokens(part, values)), False


@dataclass(frozen=True)
class RenderedVariant:
    """A variant's bodies with the CSS inlined, the greeting still a token."""

    subject: str
    html: str
    text: str
    skeleton: bytes  # the whole message, but for the per-recipient headers and bodies
    quoted_html: QuotedBody
    quoted_text: QuotedBody

    @cached_property
    def frame(self) -> tuple[bytes, bytes, bytes]:
        """The skeleton around the two bodies: split once, the same bytes for everyone."""
        text_part, _, rest = self.skeleton.partition(TEXT_SLOT)
        between, _, html_end = rest.partition(HTML_SLOT)
        return text_part, between, html_end


@dataclass
class Batch:
    """The messages of one occurrence, rendered as iterated.

    `problems` lists the recipients skipped (a bad name, address or subject). It is complete
    as soon as `build_messages` returns: header checks run before any body is rendered.
    """

    site: Site
    occurrence: Occurrence
    variants: Sequence[tuple[Variant, str]]  # each variant with its checked subject
    renderer: Renderer
    problems: list[Skipped] = field(default_factory=list)
    signer: LinkSigner | None = None
    bad_subjects: list[str] = field(default_factory=list)  # why a variant's subject was refused

    def __iter__(self) -> Iterator[RenderedMessage]:
        for variant, subject in self.variants:
            rendered = self.renderer.render(self.site, self.occurrence, variant, subject)
            for recipient in variant.recipients:
                links = self._links(variant, recipient)
                yield personalise(self.site, self.occurrence, variant, rendered, recipient, links)

    def _links(self, variant: Variant, recipient: Recipient) -> Mapping[str, str]:
        if self.signer is None or not variant.content.answers:
            return {}
        measures = variant.content.deep_dive_measures
        return self.signer.links_for(recipient.id, self.occurrence, measures)


def build_messages(
    site: Site,
    occurrence: Occurrence,
    statuses: Sequence[MeasureStatus],
    *,
    deadline: date | None = None,
    alert: Alert | None = None,
    template_dir: Path | None = None,
    recipient_ids: Collection[str] | None = None,
    signer: LinkSigner | None = None,
    last_sent: Mapping[str, LastSent] | None = None,
    templates: Templates | None = None,
    trial: bool = False,
) -> Batch:
    """Every recipient's message for one occurrence; iterate the batch, then read `problems`.
    `templates`: render these, not the folder's. `trial`: to try the templates only (no chart
    drawn, no CSS inlined: `check`, and `run` taking up an edit)."""
    targets = site.settings.alerts_to if alert is not None else occurrence.schedule.to
    recipients = site.audience(targets)
    if recipient_ids is not None:
        recipients = tuple(r for r in recipients if r.id in recipient_ids)
    problems: list[Skipped] = []
    good = []
    for recipient in recipients:
        try:
            check_recipient(recipient)
            check_key(delivery_key(occurrence.schedule.id, occurrence.key, recipient.id))
            good.append(recipient)
        except HeaderInjectionError as exc:
            problems.append(Skipped(recipient.id, str(exc)))
    variants = compose(
        site, occurrence, statuses, good, deadline=deadline, alert=alert, web=signer is not None,
        last_sent=last_sent,
    )
    env = (
        snapshot_environment(templates)
        if templates is not None
        else environment(template_dir or site.root / "templates" / "email")
    )
    renderer = Renderer(env, trial=trial)
    checked: list[tuple[Variant, str]] = []
    bad_subjects: list[str] = []
    for variant in variants:
        subject = renderer.subject(variant.content)
        problem = subject_problem(subject)
        if problem is None:
            checked.append((variant, subject))
        else:
            bad_subjects.append(problem)
            problems.extend(Skipped(r.id, problem) for r in variant.recipients)
    return Batch(site, occurrence, checked, renderer, problems, signer, bad_subjects)


def check_header(value: str, what: str) -> None:
    """Refuse a header value that could add headers: CR/LF, controls, encoded-words."""
    problem = header_problem(value, what)
    if problem is not None:
        raise HeaderInjectionError(problem)


def subject_problem(subject: str) -> str | None:
    """Why a rendered subject cannot be sent, or None; `check` reports the same."""
    if not subject:
        return "the subject is empty: it must say what the email is"
    return header_problem(subject, "the subject")


def check_key(key: str) -> None:
    """A delivery key goes into a header as it is: plain printable ASCII only."""
    check_header(key, "delivery key")
    if not key.isascii():
        raise HeaderInjectionError(f"delivery key {key!r} is not plain ASCII")


def check_recipient(recipient: Recipient) -> Address:
    """The recipient's To address, or HeaderInjectionError naming the recipient."""
    try:
        check_header(recipient.name, "name")
        check_header(recipient.email, "email address")
        local, _, domain = recipient.email.rpartition("@")
        return Address(display_name=recipient.name, username=local, domain=domain)
    except (HeaderInjectionError, ValueError, IndexError) as exc:
        raise HeaderInjectionError(f"recipient {recipient.id}: {exc}") from exc


# A site's templates as last checked: their folder, and each one's name and source.
Templates = tuple[Path, tuple[tuple[str, str], ...]]


@lru_cache(maxsize=16)
def environment(template_dir: Path) -> Environment:
    """Templates of one folder; HTML autoescaped, every variable required."""
    return _configured(FileSystemLoader(template_dir))


@lru_cache(maxsize=4)
def snapshot_environment(templates: Templates) -> Environment:
    """The same, from templates read earlier: `digest run` renders the last good ones
    while an edit that broke them is refused."""
    return _configured(_Snapshot(*templates))


def read_templates(template_dir: Path) -> Templates:
    """Every template of a folder, to render from later whatever happens on disk."""
    found = []
    for path in sorted(template_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            found.append((path.relative_to(template_dir).as_posix(), path.read_text(encoding="utf-8")))
    return template_dir, tuple(found)


class _Snapshot(BaseLoader):
    """Templates held in memory, each still named by its file (for FILE:LINE errors)."""

    def __init__(self, folder: Path, sources: tuple[tuple[str, str], ...]) -> None:
        self.folder, self.sources = folder, dict(sources)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.sources:
            raise TemplateNotFound(template)
        return self.sources[template], str(self.folder / template), lambda: True


def _configured(loader: BaseLoader) -> Environment:
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"], default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fill"] = fill
    env.filters["row"] = row
    env.filters["underline"] = underline
    env.globals["link"] = link_token  # a signed link, filled in per recipient
    env.globals["glossary_terms"] = GLOSSARY
    return env


def fill(text: str, indent: int = 0) -> str:
    """Wrap plain text to the text part's width."""
    pad = " " * indent
    return textwrap.fill(
        text, TEXT_WIDTH, initial_indent=pad, subsequent_indent=pad, break_long_words=False
    )


def row(value: str, label: str, indent: int = 2) -> str:
    """An aligned "Label   value" line, the value wrapped under itself."""
    head = " " * indent + f"{label:<{LABEL_WIDTH - indent}}"
    return textwrap.fill(
        value,
        TEXT_WIDTH,
        initial_indent=head,
        subsequent_indent=" " * LABEL_WIDTH,
        break_long_words=False,
        break_on_hyphens=False,
    )


def underline(text: str, char: str = "-") -> str:
    """The text with a line of `char` under it, as long as its longest line."""
    width = max(len(line) for line in text.splitlines() or [""])
    return f"{text}\n{char * width}"


def tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row: templates need not be careful."""
    lines = (line.rstrip() for line in text.strip().splitlines())
    return BLANK_RUNS.sub("\n\n", "\n".join(lines)) + "\n"


class Renderer:
    """Renders variants with one template folder, sharing charts across the digest."""

    def __init__(self, env: Environment, *, trial: bool = False) -> None:
        self.env = env
        self.trial = trial  # templates tried only: no chart drawn, no CSS inlined
        self.charts = ChartCache(draw=not trial)

    def subject(self, content: Content) -> str:
        template = self.env.get_template(f"{content.kind}/subject.txt")
        return template.render(content=content).strip()

    def _charts(self, content: Content) -> dict[str, Chart]:
        """Charts of the measures that need attention: the others are a line each."""
        return {
            view.id: chart
            for view in content.flagged()
            if (chart := self.charts.chart(view.status)) is not None
        }

    def _html(self, content: Content, charts: dict[str, Chart]) -> str:
        context = template_context(content, charts)
        html = self.env.get_template(f"{content.kind}/body.html").render(context)
        return html if self.trial else inline_css(html)

    def render(
        self, site: Site, occurrence: Occurrence, variant: Variant, subject: str
    ) -> RenderedVariant:
        """Bodies of one variant: templates and CSS inlining run here, once."""
        content = variant.content
        charts = self._charts(content)
        context = template_context(content, charts)
        body_text = self.env.get_template(f"{content.kind}/body.txt").render(context)
        inlined = self._html(content, charts)
        # Attached only where the template shows them (an invitation shows none).
        charts = {key: chart for key, chart in charts.items() if f"cid:{chart.cid}" in inlined}
        shared = skeleton(site, occurrence, subject, list(charts.values()), content.clinic)
        text = tidy_text(body_text)
        return RenderedVariant(
            subject, inlined, text, shared, QuotedBody.of(inlined), QuotedBody.of(text)
        )


def template_context(
    content: Content,
    charts: Mapping[str, Chart],
    *,
    greeting_name: str = NAME_TOKEN,
) -> dict[str, object]:
    """What every body template is given: one place, for render and for anyone rendering by hand."""
    return {"content": content, "charts": charts, "greeting_name": greeting_name,
            "why": WHY_TOKEN}  # fmt: skip


def personalise(
    site: Site,
    occurrence: Occurrence,
    variant: Variant,
    rendered: RenderedVariant,
    recipient: Recipient,
    links: Mapping[str, str] | None = None,
) -> RenderedMessage:
    """Fill the recipient's name, id and signed links into the variant and address it to them alone."""
    values = {NAME_TOKEN: recipient.name, ID_TOKEN: quote(recipient.id, safe=""),
              WHY_TOKEN: why_line(recipient, occurrence)}  # fmt: skip
    values.update({link_token(name): url for name, url in (links or {}).items()})
    escaped = {**values, NAME_TOKEN: html.escape(recipient.name)}
    schedule_id = occurrence.schedule.id
    key = delivery_key(schedule_id, occurrence.key, recipient.id)
    msg_id = message_id(key, sender_domain(site))
    text_part, between, html_end = rendered.frame
    pieces = [(personal_headers(recipient, msg_id, key), False), (text_part, True),
              *rendered.quoted_text.pieces(values), (between, True),
              *rendered.quoted_html.pieces(escaped), (html_end, True)]  # fmt: skip
    raw = b"".join(data for data, _ in pieces)
    shared, at = [], 0
    for data, common in pieces:
        if common and len(data) >= MIN_SHARED:  # a short piece costs more to refer to than to keep
            shared.append((at, data))
        at += len(data)
    outgoing = OutgoingMessage(
        delivery_key=key,
        schedule_id=schedule_id,
        occurrence_key=occurrence.key,
        recipient=recipient,
        subject=rendered.subject,
        message_id=msg_id,
        raw=raw,
        figures=variant.content.figures,
        shared=tuple(shared),
    )
    body_html, body_text = fill_tokens(rendered.html, escaped), fill_tokens(rendered.text, values)
    return RenderedMessage(outgoing, body_html, body_text)


def why_line(recipient: Recipient, occurrence: Occurrence) -> str:
    """Why this person receives this email: the list it goes to that names them."""
    schedule = occurrence.schedule
    if occurrence.schedule.digest == "alert":
        return "You receive this alert because you are on the performance team's list for them."
    roles = [t.removeprefix("role:") for t in schedule.to
             if t.startswith("role:") and t.removeprefix("role:") in recipient.roles]  # fmt: skip
    if roles:
        names = " and ".join(r.replace("-", " ") for r in roles)
        return f"You receive this email because it goes to every {names}."
    return "You receive this email because the performance team added you to its list."


def fill_tokens(text: str, values: dict[str, str]) -> str:
    # A link token with no value (no signer) is left empty rather than shown.
    return TOKENS.sub(lambda m: values.get(m.group(0), ""), text)


def personal_headers(recipient: Recipient, msg_id: str, key: str) -> bytes:
    """The header lines that differ per recipient; To folded and encoded by the email package."""
    # build_messages checked the key: ids are plain ASCII, written as they are.
    return to_header(recipient) + f"Message-ID: {msg_id}\r\nX-Digest-Key: {key}\r\n".encode("ascii")


def to_header(recipient: Recipient) -> bytes:
    """The To line: as it is when plain, else the name quoted or encoded (RFC 5322, 2047).

    The email package's own folding costs over a millisecond a header; a send to ten
    thousand members with accented names spent seconds in it. An address that is not
    plain ASCII still goes through the email package."""
    line = f"To: {recipient.name} <{recipient.email}>\r\n"
    if len(line) <= MAX_PLAIN_TO and PLAIN_TO.fullmatch(line):
        return line.encode("ascii")  # nothing to quote, encode or fold: the same bytes
    words = _display_name(recipient.name) if PLAIN_ADDRESS.fullmatch(recipient.email) else None
    if words is None:  # an address or a name too long for one header word: the email package
        head = EmailMessage(policy=SMTP)
        head["To"] = check_recipient(recipient)
        return head.as_bytes().removesuffix(b"\r\n")
    lines, current = [], "To:"
    for word in [*words, f"<{recipient.email}>"]:
        if len(current) + 1 + len(word) > MAX_PLAIN_TO and current != "To:":
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")
ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
ENCODED_CHUNK = 45  # bytes of UTF-8 per encoded-word: 60 base64 characters, 72 in all


def _display_name(name: str) -> list[str] | None:
    """The name as header words: atoms as they are, else one quoted string, else one
    encoded-word; None when it needs more than that."""
    atoms = name.split(" ")
    if all(ATOM_TEXT.fullmatch(w) and len(w) <= 60 for w in atoms) and "  " not in name:
        return atoms
    if name.isascii() and name.isprintable():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        if len(quoted) + 2 <= MAX_PLAIN_TO - len("To: "):
            return [f'"{quoted}"']
    data = name.encode("utf-8")
    if len(data) > ENCODED_CHUNK:
        return None  # split encoded-words are read back with spaces by some readers
    return [f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="]


def quoted_lines(lines: str) -> bytes:
    """Quoted-printable of CRLF-ended lines (the last may be unended), soft breaks CRLF too."""
    if "\r\n" in lines:
        return binascii.b2a_qp(lines.encode("utf-8"), istext=True)
    # The encoder takes its line ending from the first one it sees: give it one.
    return binascii.b2a_qp(("\r\n" + lines).encode("utf-8"), istext=True)[2:]
