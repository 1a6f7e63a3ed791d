"""The analysts' notebooks (``notebooks/``): stored clean, run end to end, print real numbers.

Each notebook is executed with nbclient in a fresh ``python3`` kernel whose working directory is
``notebooks/`` and whose matplotlib backend is Agg; any cell error fails the test. The values
checked are read from the executed notebook's outputs (cells are found by their tags), and they
are the library's real results on the shipped 2025 wave (228 advertisers), several of which
reproduce published figures (54% expect lower spending, +11 points on 2024; 28% use AI marketing).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-toplines-and-banner", "02-brand-split", "03-scenarios", "04-client-tabs"]
TIMEOUT = 300  # seconds per cell; a whole notebook takes a few seconds


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _execute(name: str) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = _read(name)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env={**os.environ, "MPLBACKEND": "Agg"})  # raises on any cell error
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    return nb


def _cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _text(nb: nbformat.NotebookNode, tag: str) -> str:
    """Printed text plus the plain-text rendering of results of the cell tagged ``tag``."""
    parts = []
    for o in _cell(nb, tag).outputs:
        if o.output_type == "stream" and o.name == "stdout":
            parts.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            parts.append(o.data.get("text/plain", ""))
    return "\n".join(parts)


def _html(nb: nbformat.NotebookNode, tag: str) -> str:
    return "\n".join(
        o.data.get("text/html", "")
        for o in _cell(nb, tag).outputs
        if o.output_type in ("execute_result", "display_data")
    )


def _num(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m is not None, f"{pattern!r} not found in:\n{text}"
    return float(m.group(1))


# ------------------------------------------------------------------------------------ stored form


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 8
    for c in code:
        assert c.outputs == [], f"{name}: cell {c.id} is stored with outputs"
        assert c.execution_count is None, f"{name}: cell {c.id} has an execution count"
    # the notebooks call the library; they bring no numerical code of their own
    source = "\n".join(c.source for c in code)
    for banned in ("import numpy", "import scipy", "import statsmodels", "from scipy", "np."):
        assert banned not in source, f"{name} uses {banned!r}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"[\u4e00-\u9fff]", markdown), f"{name}: markdown is not in Chinese"


# ------------------------------------------------------------------------------------ 01


def test_toplines_and_banner() -> None:
    nb = _execute("01-toplines-and-banner")

    wave = _text(nb, "wave")
    assert "edition = 2025" in wave
    assert _num(r"(?m)^n = (\d+)", wave) == 228

    diag = _text(nb, "diagnostics")
    assert "raked" in diag
    assert _num(r"max margin error = ([\d.e+-]+)", diag) < 1e-8
    deff = _num(r"Kish deff = ([\d.]+)", diag)
    assert 1.0 <= deff < 1.2
    assert _num(r"effective n = ([\d.]+)", diag) == pytest.approx(228 / deff, abs=0.1)

    top = _text(nb, "topline-confidence")
    rows = re.findall(r"^(\w+) (\S+): ([\d.]+)% \(95% CI ([\d.]+)%–([\d.]+)%\)$", top, re.M)
    assert [r[0] for r in rows] == [
        "big_decrease",
        "small_decrease",
        "flat",
        "small_increase",
        "big_increase",
    ]
    assert rows[0][1] == "大幅减少"  # codebook labels, Chinese by default
    assert sum(float(r[2]) for r in rows) == pytest.approx(100.0, abs=0.3)
    for _, _, est, lo, hi in rows:
        assert float(lo) < float(est) < float(hi)

    assert "Marketing ROI hard to raise" in _text(nb, "topline-en")  # lang="en"

    mean = _text(nb, "topline-mean")
    m, lo, hi = (_num(p, mean) for p in (r"mean = ([\d.]+)", r"CI ([\d.]+)–", r"–([\d.]+)\)"))
    assert lo < m < hi and 6.0 < m < 10.0

    banner = _text(nb, "banner")
    net_down = _num(r"net_decrease 减少\(合计\): ([\d.]+)%", banner)
    assert net_down == pytest.approx(54.0, abs=1.0)  # published: 54% expect lower spending
    assert "sig_higher_than" in banner
    gt = _html(nb, "gt")
    assert "总体" in gt and "基数" in gt and "<table" in gt

    assert _num(r"bars = (\d+)", _text(nb, "chart")) == 5

    change = _text(nb, "compare")
    assert "comparable 2024→2025: True" in change
    line = next(ln for ln in change.splitlines() if ln.startswith("net_decrease"))
    assert _num(r"\(([+-][\d.]+) pp", line) == pytest.approx(11.0, abs=1.5)  # published +11
    assert _num(r"p = ([\d.]+)", line) < 0.05

    not_comparable = _text(nb, "not-comparable")
    assert "false" in not_comparable and "not asked" in not_comparable


# ------------------------------------------------------------------------------------ 02


def test_brand_split() -> None:
    nb = _execute("02-brand-split")

    assert _num(r"(?m)^n = (\d+)", _text(nb, "data")) == 228

    fit = _text(nb, "fit")
    assert _num(r"(?m)^n = (\d+)", fit) == 228
    assert "interior = True" in fit
    opt = _num(r"optimum = ([\d.]+)", fit)
    assert 0.45 < opt < 0.60
    assert opt == pytest.approx(0.53, abs=0.03)  # the published 53:47
    d_lo, d_hi = (
        _num(r"delta 95% CI = ([\d.]+)", fit),
        _num(r"delta 95% CI = [\d.]+ – ([\d.]+)", fit),
    )
    b_lo, b_hi = (
        _num(r"bootstrap 95% CI = ([\d.]+)", fit),
        _num(r"bootstrap 95% CI = [\d.]+ – ([\d.]+)", fit),
    )
    assert d_lo < opt < d_hi and b_lo < opt < b_hi
    # the synthetic share-gain curve follows Binet & Field's flat prior (docs/methods-synthetic.md):
    # at n = 228 the optimum is located only to about +-17 points (delta), the bootstrap wider
    assert 0.2 < d_hi - d_lo < 0.4 and b_hi - b_lo > d_hi - d_lo
    assert _num(r"\(B = (\d+)\)", fit) == 500

    tests = _text(nb, "tests")
    p = {
        ref: _num(rf"{ref}: .*p_wald = ([\d.]+)", tests)
        for ref in ("published_53_47", "binet_field_consumer_60_40", "binet_field_b2b_46_54")
    }
    # the published optimum is not rejected and fits better than either literature reference
    assert p["published_53_47"] > 0.05
    assert p["published_53_47"] > max(p["binet_field_consumer_60_40"], p["binet_field_b2b_46_54"])

    effects = [
        float(x.replace("\u2212", "-"))
        for x in re.findall(r"预计变化 ([+\u2212-][\d.]+) 个百分点", _text(nb, "what-if"))
    ]
    assert len(effects) == 2
    assert effects[0] < 0 < effects[1]  # -10 points of brand below the optimum hurts, +10 helps

    seg = _text(nb, "segments")
    optima = [float(x) for x in re.findall(r": ok, optimum = ([\d.]+), n = \d+", seg)]
    refused = re.findall(r": refused, optimum = None, n = \d+", seg)
    assert len(optima) + len(refused) == 2  # both job levels: fitted or refused with a reason
    assert optima and all(0.25 < o < 0.75 for o in optima)  # flat prior: segments vary more
    by_size = _text(nb, "segments-size")
    assert "refused" in by_size and "ok" in by_size

    refusal = _text(nb, "refusal").strip().splitlines()
    assert refusal[0].startswith("SegmentRefused: brand_type = emerging:")
    base = int(_num(r"base n = (\d+)", refusal[0]))
    assert base < 80 and "minimum 80" in refusal[0]
    assert str(base) in refusal[1] and re.search(r"[\u4e00-\u9fff]", refusal[1])  # Chinese reason


# ------------------------------------------------------------------------------------ 03


def test_scenarios() -> None:
    nb = _execute("03-scenarios")

    assert _num(r"(?m)^n = (\d+)", _text(nb, "data")) == 228
    assert "n_pairs=2" in _text(nb, "history")

    budget = _text(nb, "budget")
    means = {
        s: _num(rf"(?m)^{s} \S+: mean = ([\d.-]+)", budget)
        for s in ("pessimistic", "base", "optimistic")
    }
    assert means["pessimistic"] < means["base"] < means["optimistic"]
    assert 6.0 < means["base"] < 10.0

    fan = re.findall(r"(?m)^(\d{4}): index median = ([\d.]+)", _text(nb, "fan"))
    assert [int(y) for y, _ in fan] == [2024, 2025, 2026, 2027]
    assert float(fan[0][1]) == 100.0  # last actual year = 100
    assert float(fan[-1][1]) > 100.0

    custom = _text(nb, "custom")
    base = _num(r"base 基准: mean = ([\d.]+)", custom)
    push = _num(r"emerging_push 新锐品牌加码: mean = ([\d.]+)", custom)
    assert base == pytest.approx(means["base"], abs=1e-9)
    assert push > base

    bad = _text(nb, "bad-scenario")
    assert bad.startswith("ModelError:") and "sums to 5" in bad

    balance = re.findall(r"(?m)^(\w+) \S+: net = ([+-][\d.]+)", _text(nb, "net-balance"))
    assert len(balance) == 9
    nets = [float(v) for _, v in balance]
    assert nets == sorted(nets, reverse=True)  # printed in ranked order
    assert balance[0][0] == "mobile" and nets[0] > 0.2  # mobile leads
    assert nets[-1] < 0  # some channel loses

    shares = {
        item: (float(b), float(n))
        for item, b, n in re.findall(
            r"(?m)^(\w+) \S+: base = ([\d.]+), scenario = ([\d.]+)", _text(nb, "reallocate")
        )
    }
    assert sum(b for b, _ in shares.values()) == pytest.approx(1.0, abs=0.01)
    assert sum(n for _, n in shares.values()) == pytest.approx(1.0, abs=0.01)
    assert shares["mobile"][1] > shares["mobile"][0]  # positive net balance gains share

    inputs = _text(nb, "ai-inputs")
    assert _num(r"using AI marketing now = ([\d.]+)", inputs) == pytest.approx(0.28, abs=0.01)
    assert _num(r"planning AI marketing = ([\d.]+)", inputs) == pytest.approx(0.41, abs=0.01)
    assert _num(r"(?m)^n = (\d+)", inputs) == 228

    path = [
        float(x) for x in re.findall(r"(?m)^\d{4}: median = ([\d.]+)", _text(nb, "ai-projection"))
    ]
    assert len(path) == 4
    assert path[0] == pytest.approx(0.28, abs=0.02) and path == sorted(path)
    medians = [float(x) for x in re.findall(r"median = ([\d.]+)", _text(nb, "ai-sensitivity"))]
    assert len(medians) == 7
    assert medians == sorted(medians) and medians[0] < medians[-1]

    priors = [float(x) for x in re.findall(r"\d{4} median = ([\d.]+)", _text(nb, "ai-priors"))]
    assert len(priors) == 3 and priors[0] < priors[1] < priors[2]


# ------------------------------------------------------------------------------------ 04


def test_client_tabs() -> None:
    nb = _execute("04-client-tabs")
    assert _num(r"(?m)^n = (\d+)", _text(nb, "design")) == 228
    filt = _text(nb, "filter")
    n = _num(r"基数：美妆个护\+食品饮料，n = (\d+)", filt)
    assert 50 < n < 120 and f"Base: Beauty & personal care + Food & beverage, n = {n:.0f}" in filt
    assert "se filtered frame" in _text(nb, "naive")
    nets = _text(nb, "nets")
    assert "not_up" in nets and "mobile:increase" in nets and "大预算" not in nets.split("┆")[0]
    banner = _text(nb, "banner")
    assert "brand_type>job_level" in banner and "not_large" in banner and "中小预算" in banner
    excel = _text(nb, "excel")
    assert _num(r"sheets = (\d+)", excel) == 4 and "(0%)" in excel
    pptx = _text(nb, "pptx")
    assert _num(r"charts = (\d+)", pptx) == 4 and _num(r"tables = (\d+)", pptx) >= 3
    compare = _text(nb, "compare")
    assert _num(r"comparable = (\d+)", compare) > 50
    assert "信心" in _text(nb, "codebook")
