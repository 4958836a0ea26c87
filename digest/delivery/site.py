"""Loading a site for sending: the site's own checks, the chosen transport's, and the kinds'.

With `[web]`, members' links are signed with DIGEST_SECRET_KEY; without a good key the
commands that send (`send`, `run`) refuse to start, rather than send links that no page
would accept. `check` reads files only, so it does not ask for the key.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

from digest.delivery.transports import check_delivery
from digest.email.kinds import SCHEDULED
from digest.email.links import EmailLinkSigner, secret_problem
from digest.errors import DigestError
from digest.site import load
from digest.site.load import LoadedSite
from digest.site.web import read_web

SECRET_ENV = "DIGEST_SECRET_KEY"


def load_site(
    root: Path,
    today: date,
    *,
    with_observations: bool = True,
    secret: str | None = None,
    require_key: bool = False,
) -> LoadedSite:
    """What digest.site.load.load_site does, with the transport checking its own settings,
    each schedule's `digest` checked against the registered kinds, and links signed."""
    loaded = load.load_site(
        root,
        today,
        with_observations=with_observations,
        delivery_check=check_delivery,
        kinds=SCHEDULED,
    )
    key = secret if secret is not None else os.environ.get(SECRET_ENV)
    return _with_signer(loaded, key, require_key=require_key)


def _with_signer(loaded: LoadedSite, secret: str | None, *, require_key: bool) -> LoadedSite:
    web, _ = read_web(loaded.site.root)  # its problems are already in loaded.problems
    if web is None:
        return loaded
    problem = secret_problem(secret)
    if problem is not None or secret is None:
        if require_key:
            raise DigestError(f"[web] in schedules.toml signs members' links, but {problem}")
        return loaded  # a preview or check: mailto links, nothing is sent
    return replace(loaded, signer=EmailLinkSigner(web, secret, loaded.site.settings))
