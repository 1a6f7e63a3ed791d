"""``survey tabs``: a banner book of a wave as Excel tabs (or HTML / PowerPoint by suffix)."""

from __future__ import annotations

import argparse
import sys

NAME = "tabs"
HELP = (
    "banner book of a wave: rows by columns with significance letters, written as Excel tabs "
    "(.xlsx: index + one sheet per question), a deck (.pptx) or a web page (.html)"
)


def _list(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--rows", help="row questions, comma-separated (grid items as "
                                  "media_intent:mobile); default: every question of the edition")
    p.add_argument("--cols", help="column variables, comma-separated; outer>inner for nested "
                                  "columns; default: the codebook's segment questions")
    p.add_argument("--where", help="filter, e.g. 'industry=beauty,food_bev; brand_type=local' "
                                   "(levels as codes or zh/en labels: 'industry=美妆个护'; a "
                                   "domain of the full design: SEs as R's subset())")
    p.add_argument("--edition", type=int, help="edition (default: the newest wave)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the labels")
    p.add_argument("--test", choices=["design", "effective_base"], default="design",
                   help="column test (docs/banner-tests.md)")
    p.add_argument("--adjust", choices=["bonferroni", "holm", "BH"], help="p-value adjustment")
    p.add_argument("--vs-total", action="store_true", help="also test each column against Total")
    p.add_argument("--hide-suppressed", action="store_true",
                   help="leave out columns whose base is too small in every table")
    p.add_argument("--no-scores", action="store_true", help="no mean-score rows")
    p.add_argument("--show", default="col_pct",
                   help="Excel statistics per row, comma-separated: col_pct,count,row_pct")
    p.add_argument("-o", "--output", required=True, help="output file: .xlsx, .pptx or .html")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 written, 2 could not run)."""
    from pathlib import Path

    from survey.banners import banner
    from survey.errors import SurveyError
    from survey.io import load_wave
    from survey.reporting import available_editions
    from survey.weighting import standard_design

    out = Path(args.output)
    if out.suffix.lower() not in (".xlsx", ".pptx", ".html"):
        raise SurveyError("unknown output format", value=str(out),
                          expected="a file name ending in .xlsx, .pptx or .html")
    editions = available_editions()
    edition = args.edition if args.edition is not None else (editions[-1] if editions else None)
    wave = load_wave(edition)
    design = standard_design(wave)
    cb = wave.codebook
    present = set(wave.frame.columns)
    rows = _list(args.rows) or [q.id for q in cb.questions_in(edition) if not q.segment
                                and set(q.columns(edition)) <= present]
    cols: list = [tuple(c.split(">", 1)) if ">" in c else c for c in _list(args.cols)] or [
        q.id for q in cb.segments() if q.id in present]
    b = banner(design, rows, cols, test=args.test, adjust=args.adjust, where=args.where,
               vs_total=args.vs_total, hide_suppressed=args.hide_suppressed,
               scores=not args.no_scores, lang=args.lang, synthetic=wave.is_synthetic)
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        b.to_excel(out, lang=args.lang, show=tuple(_list(args.show)))
    elif suffix == ".pptx":
        b.to_pptx(out, lang=args.lang)
    else:
        b.to_html(args.lang, path=out)
    n_q = len(b.table(args.lang).questions())
    print(f"wrote {out}: {n_q} questions × {len(cols)} column variables; "
          f"{b.base_text(args.lang)}", file=sys.stderr)
    return 0
