"""Time a full render of ``report/`` (HTML + the PDF deck) and write the timings.

Usage (``--project report/appendix`` times the technical appendix):
    python bench/bench_render.py [--project report] [--repeat 2] [--workers N]
                                 [--out bench/results/render.json]

Prints one line per run and writes a JSON file with every run's wall time, the per-format
split and the machine (CPU count, Python version), so ``docs/benchmarks.md`` can be updated.

Example:
    $ python bench/bench_render.py --repeat 1
    run 1: html+pdf 31.2 s, sizes {'.html': 50486, '.pdf': 70239}
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from survey.cli.report import check_report_params
from survey.paths import report_dir
from survey.render import render_report
from survey.render.execute import Job, execute_many
from survey.render.project import load_project

#: the full-render target of the report issue (2 cores)
TARGET_S = 60.0
#: what every chapter kernel imports before its own work: the reference run's only cell
STACK = (
    "import polars, matplotlib.pyplot, seaborn, great_tables\n"
    "from survey.reporting import ReportContext\n"
    "ReportContext.load(None, 'zh')"
)


def reference_s(project: Path, workers: int | None) -> float:
    """Wall time of the same number of kernels doing only the imports and loading the wave."""
    import nbformat

    n = len(load_project(project).chapters)
    jobs = [
        Job(nb=nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(STACK)]),
            cwd=project, name=f"reference-{i}")
        for i in range(n)
    ]
    t0 = time.perf_counter()
    execute_many(jobs, workers=workers or min(n, os.cpu_count() or 1))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=None, help="default: report/")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench/results/render.json"))
    args = parser.parse_args()

    project = args.project or report_dir()
    runs = []
    for k in range(args.repeat):
        log = io.StringIO()
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(log):
            t0 = time.perf_counter()
            meta = check_report_params(project, {"lang": "zh"})
            render_report(project, out_dir=tmp, workers=args.workers, meta=meta)
            total = time.perf_counter() - t0
            size = {p.suffix: p.stat().st_size for p in Path(tmp).iterdir()}
        steps = [line.strip() for line in log.getvalue().splitlines() if line.startswith("  ")]
        runs.append({"run": k + 1, "html_pdf_s": round(total, 2), "bytes": size, "log": steps})
        print(f"run {k + 1}: html+pdf {total:.1f} s, sizes {size}")
        print("\n".join(f"    {line}" for line in steps))

    ref = reference_s(project, args.workers)
    best = min(r["html_pdf_s"] for r in runs)
    print(
        f"reference (same kernels: imports + loading the wave only): {ref:.1f} s; "
        f"render / reference = {best / ref:.2f}; render / {TARGET_S:.0f} s target = "
        f"{best / TARGET_S:.2f}; load average {os.getloadavg()[0]:.1f}"
    )
    result = {
        "benchmark": f"render {project} (all chapters, fresh kernel per chapter)",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "workers": args.workers or "auto (CPU count)",
        "runs": runs,
        "best_html_pdf_s": best,
        "reference_s": round(ref, 2),
        "ratio_to_reference": round(best / ref, 2),
        "ratio_to_target": round(best / TARGET_S, 2),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
