"""CSS inlining for email clients, and trimming what inlining leaves behind."""

from __future__ import annotations

import re

STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')
STYLE_GAPS = re.compile(r"\s*([;:])\s*")


def inline_css(document: str) -> str:
    """Move the stylesheet into style attributes; media queries stay in a <style> block."""
    import premailer  # here: a daemon with nothing to send need not load it (and lxml)

    if not document.strip():  # premailer fails on a document with no element at all
        return document

    inlined = premailer.Premailer(
        document,
        allow_network=False,
        disable_validation=True,
        strip_important=False,  # the phone media query needs !important to beat inline styles
        cssutils_logging_level="CRITICAL",
    ).transform(pretty_print=False)
    return drop_spent_classes(compact_styles(str(inlined)))


CLASS_ATTRIBUTE = re.compile(r' class="([^"]*)"')
STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)
CLASS_NAME = re.compile(r"\.([A-Za-z][\w-]*)")


def drop_spent_classes(html: str) -> str:
    """Once the CSS is inlined, keep only the classes the phone media query still uses."""
    used = {name for block in STYLE_BLOCK.findall(html) for name in CLASS_NAME.findall(block)}

    def keep(match: re.Match[str]) -> str:
        names = [n for n in match.group(1).split() if n in used]
        return f' class="{" ".join(names)}"' if names else ""

    return CLASS_ATTRIBUTE.sub(keep, html)


def compact_styles(html: str) -> str:
    """Drop the spaces premailer writes inside style attributes: Gmail clips a message
    whose HTML passes 102 KB, and a long tracker repeats the same styles hundreds of times."""

    def compact(match: re.Match[str]) -> str:
        return 'style="' + STYLE_GAPS.sub(r"\1", match.group(1)).rstrip(";") + '"'

    return STYLE_ATTRIBUTE.sub(compact, html)
