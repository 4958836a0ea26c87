"""What may go into an email header as it is: checked where the team writes it, and again
where the header is made, by this one function."""

from __future__ import annotations

import re

# Any control character, and the Unicode line and paragraph separators.
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
ENCODED_WORD = re.compile(r"=\?.*\?=", re.DOTALL)


def header_problem(value: str, what: str) -> str | None:
    """Why `value` cannot be a header as written (it could add a header or be decoded
    into something else), or None."""
    if CONTROL.search(value):
        return f"{what} contains a line break or control character: write it on one line, in plain text"
    if ENCODED_WORD.search(value):
        return f'{what} contains an encoded-word ("=?...?="): write it plainly'
    return None
