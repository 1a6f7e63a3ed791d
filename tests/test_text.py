"""The report's message catalog: templates filled from numbers, in either language."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey.errors import RenderError
from survey.present.text import Texts, fmt_pct, fmt_pp


def test_formats() -> None:
    assert fmt_pct(0.5439) == "54%"
    assert fmt_pct(0.5439, 1) == "54.4%"
    assert fmt_pp(0.11, "zh") == "+11 个百分点"
    assert fmt_pp(-0.14, "en") == "−14 points"
    assert fmt_pp(0.001, "en") == "0 points"


def test_catalog_from_yaml_with_nested_keys(tmp_path: Path) -> None:
    p = tmp_path / "strings.yml"
    p.write_text(
        "confidence:\n  lead:\n    zh: '{neg:pct} 的广告主认为将减少({diff:pp})'\n"
        "    en: '{neg:pct} expect a decrease ({diff:pp})'\n",
        encoding="utf-8",
    )
    t = Texts.load(p)
    assert "confidence.lead" in t
    assert t.say("confidence.lead", "zh", neg=0.54, diff=0.11) == "54% 的广告主认为将减少(+11 个百分点)"
    assert t.say("confidence.lead", "en", neg=0.54, diff=0.11) == "54% expect a decrease (+11 points)"


def test_missing_key_or_value_is_a_clear_error() -> None:
    t = Texts({"a": {"zh": "{x:pct}", "en": "{x:pct}"}})
    with pytest.raises(RenderError, match="no text 'b'"):
        t.say("b")
    with pytest.raises(RenderError, match="needs a value for 'x'"):
        t.say("a", "zh")


def test_malformed_catalog(tmp_path: Path) -> None:
    p = tmp_path / "bad.yml"
    p.write_text("a: just a string\n", encoding="utf-8")
    with pytest.raises(RenderError, match="entry 'a' is not a"):
        Texts.load(p)
