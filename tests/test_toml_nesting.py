from __future__ import annotations

import pytest

from digest.site.toml import TomlSyntaxError, parse


def test_it_reports_deeply_nested_toml_as_a_syntax_error() -> None:
    text = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(TomlSyntaxError) as caught:
        parse(text)
    assert caught.value.line == 1
    assert "nested too deeply" in caught.value.message
