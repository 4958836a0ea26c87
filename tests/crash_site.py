"""A site with thousands of members, for the crash test and the send benchmark."""

from __future__ import annotations

from pathlib import Path

from tests.sites import send_by_smtp, write_site


def big_site(root: Path, port: int, members: int) -> Path:
    """The test site plus `members` members, sending by SMTP to 127.0.0.1:port."""
    site = write_site(root)
    people = "".join(
        f'\n[[recipient]]\nid = "member-{n:04d}"\nname = "Cllr Member {n:04d}"\n'
        f'email = "member{n:04d}@example.gov.uk"\nroles = ["member"]\n'
        + ('themes = ["care"]\n' if n % 3 == 0 else "")
        for n in range(members)
    )
    with (site / "recipients.toml").open("a", encoding="utf-8") as handle:
        handle.write(people)
    return send_by_smtp(site, port)
