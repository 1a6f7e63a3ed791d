"""Shared names for the docstring examples (``pytest --doctest-modules``).

Every public example runs: an autouse fixture fills ``doctest_namespace`` — only for doctest
items, built once per session — with the shipped waves and what the examples use:

``pl``, ``np``, ``survey``; ``wave`` (2025), ``design`` / ``d25`` (its standard raked design),
``d24`` (2024), ``b`` (a banner of ``confidence`` and ``challenges`` by ``position``), ``ctx``
(the 2025 ``ReportContext``, no previous edition), ``nb`` (media-mix net balance, 50
replicates) and ``tmp`` (a fresh directory per session for files examples write).

Other engineers add names with one line in ``_NAMES`` (name -> builder).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest


def _wave() -> Any:
    import survey

    return survey.load_wave(2025)


def _design(ns: dict[str, Any]) -> Any:
    from survey.weighting import standard_design

    return standard_design(ns["wave"])


def _d24(ns: dict[str, Any]) -> Any:
    import survey
    from survey.weighting import standard_design

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2024 wave lacks a later question
        return standard_design(survey.load_wave(2024))


def _banner(ns: dict[str, Any]) -> Any:
    from survey.banners import banner

    return banner(ns["design"], ["confidence", "challenges"], ["position"])


def _ctx(ns: dict[str, Any]) -> Any:
    from survey.reporting import ReportContext

    return ReportContext.load(2025, with_previous=False)


def _nb(ns: dict[str, Any]) -> Any:
    from survey.models.scenarios.media_mix import net_balance

    return net_balance(ns["design"], bootstrap=50)


#: name -> builder of the shared doctest namespace (built in this order, lazily per session)
_NAMES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "wave": lambda ns: _wave(),
    "design": _design,
    "d24": _d24,
    "b": _banner,
    "ctx": _ctx,
    "nb": _nb,
}


class _Lazy(dict):
    """The namespace: each shared name built on first use (most modules need few of them)."""

    def __missing__(self, key: str) -> Any:
        if key == "d25":
            return self["design"]
        if key not in _NAMES:
            raise KeyError(key)
        value = _NAMES[key](self)
        self[key] = value
        return value


@pytest.fixture(scope="session")
def _shared_names(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    import survey

    return {"pl": pl, "np": np, "survey": survey, "tmp": tmp_path_factory.mktemp("doctest")}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest) -> None:
    """Fill ``doctest_namespace`` for doctest items only (plain tests pay nothing): the
    session's fixed names, and each shared object the example's source names."""
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        return
    ns = request.getfixturevalue("doctest_namespace")
    ns.update(request.getfixturevalue("_shared_names"))
    lazy = request.config.stash.setdefault(_CACHE, _Lazy())
    source = "\n".join(ex.source for ex in request.node.dtest.examples)
    for key in (*_NAMES, "d25"):
        if re.search(rf"\b{key}\b", source):
            ns[key] = lazy[key]


_CACHE = pytest.StashKey[dict]()
