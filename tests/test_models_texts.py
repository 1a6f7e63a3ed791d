"""survey/models/texts.yml: every entry bilingual with the same placeholders; keys used exist."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from survey.models._result import TEXTS_FILE, say, texts


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


#: entries whose numbers are in each language's own unit (亿 vs million)
UNIT_VARIANTS = {"ai_adoption.context": ({"users_yi"}, {"users_m"})}


def test_every_entry_has_both_languages_and_the_same_placeholders():
    t = texts()
    assert len(t.entries) > 30
    for key, entry in t.entries.items():
        assert set(entry) == {"zh", "en"}, key
        zh_only, en_only = UNIT_VARIANTS.get(key, (set(), set()))
        assert _fields(entry["zh"]) - zh_only == _fields(entry["en"]) - en_only, key


def test_every_key_used_in_the_models_is_in_the_catalog():
    root = Path(TEXTS_FILE).parent
    used = set()
    for py in root.rglob("*.py"):
        used |= set(re.findall(r'"((?:common|brand_split|media_mix|ai_adoption|budget)\.[a-z_.]+)"',
                               py.read_text(encoding="utf-8")))
    assert used, "no catalog keys found in survey/models"
    missing = {k for k in used if k not in texts()}
    assert not missing


def test_no_chinese_literals_left_in_the_model_code():
    root = Path(TEXTS_FILE).parent
    for py in root.rglob("*.py"):
        code = "\n".join(line for line in py.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith(("#", ">>>")))
        body = re.sub(r'"""[\s\S]*?"""', "", code)  # docstrings may quote output
        assert not re.search(r"[\u4e00-\u9fff]", body), py.name


def test_say_checks_the_language():
    assert say("brand_split.sample", "en", n=5) == "Base n = 5."
    with pytest.raises(ValueError):
        say("brand_split.sample", "fr", n=5)
