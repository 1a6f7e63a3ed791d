"""Execute notebooks with nbclient in a fresh ``python3`` kernel, deterministically.

Each chapter runs in its own kernel (as Quarto does) with the report folder as working
directory and a fixed environment (``PYTHONHASHSEED=0``, ``SOURCE_DATE_EPOCH``, UTC, a fixed
matplotlib SVG hash salt, no SVG date). Several chapters may run at once, each in its own
kernel. A failing cell raises :class:`~survey.errors.RenderError` naming the chapter file,
the cell label and its line, with the cell's traceback.

Example:
    >>> from survey.render.qmd import parse_qmd, to_notebook
    >>> nb = to_notebook(parse_qmd("```{python}\\nprint(6 * 7)\\n```"), setup=SETUP_CODE)
    >>> out = execute_notebook(nb, cwd=Path("."), name="demo.qmd")
    >>> out.cells[-1].outputs[0]["text"]
    '42\\n'
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from survey.errors import RenderError

KERNEL = "python3"
SOURCE_DATE_EPOCH = "1735689600"  # 2025-01-01T00:00:00Z: fixed, so outputs do not vary

#: Hidden first cell: deterministic, vector (SVG) figures, as Quarto's own setup cell does.
SETUP_CODE = """\
import matplotlib as _survey_mpl
_survey_mpl.rcParams["svg.hashsalt"] = "survey-report"
_survey_mpl.rcParams["svg.fonttype"] = "path"
%config InlineBackend.figure_formats = ["svg"]
%config InlineBackend.print_figure_kwargs = {"bbox_inches": "tight", "metadata": {"Date": None}}
del _survey_mpl
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PKG_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    """One notebook to run: the notebook, its working directory and the chapter's file name."""

    nb: nbformat.NotebookNode
    cwd: Path
    name: str


def ensure_kernelspec(name: str = KERNEL) -> None:
    """Make sure a ``python3`` kernelspec exists; install ipykernel's into ``sys.prefix`` if not.

    Example:
        >>> ensure_kernelspec()
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        try:
            from ipykernel.kernelspec import install

            install(prefix=sys.prefix, kernel_name=name)
        except Exception as exc:  # pragma: no cover - depends on the machine
            raise RenderError(
                f"no Jupyter kernel '{name}' and installing ipykernel's failed: {exc}; "
                "run `python -m ipykernel install --sys-prefix`"
            ) from exc


def kernel_env() -> dict[str, str]:
    """Environment of the kernel: the current one plus fixed, reproducibility-relevant values."""
    env = dict(os.environ)
    env.update(
        PYTHONHASHSEED="0",
        SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH,
        TZ="UTC",
        PYTHONIOENCODING="utf-8",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.pop("MPLBACKEND", None)
    # the package importable from the kernel even when it is not pip-installed
    if (_PKG_ROOT / "survey").is_dir():
        paths = [str(_PKG_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _describe(cell: nbformat.NotebookNode, name: str) -> str:
    meta = cell.metadata.get("survey", {})
    kind = meta.get("kind")
    if kind == "inline":
        return f"{name}, line {meta.get('line')}: inline expression `{cell.source}`"
    if kind == "code":
        return f"{name}, line {meta.get('line')}: cell '{meta.get('label')}'"
    return f"{name}: {kind or 'hidden'} cell"


async def _run(job: Job, timeout: int) -> nbformat.NotebookNode:
    client = NotebookClient(
        job.nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(job.cwd)}},
        allow_errors=False,
        record_timing=False,
    )
    # IPC transport in a private folder: no open TCP ports, no plain-text warning
    sockets = tempfile.mkdtemp(prefix="survey-kernel-")
    client.km = client.create_kernel_manager()
    client.km.transport = "ipc"
    client.km.ip = os.path.join(sockets, "kernel")
    try:
        await _run_cells(client, job)
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    return job.nb


async def _run_cells(client: NotebookClient, job: Job) -> None:
    async with client.async_setup_kernel(env=kernel_env()):
        for index, cell in enumerate(job.nb.cells):
            if cell.cell_type != "code":
                continue
            opts = cell.metadata.get("survey", {}).get("options", {})
            if opts.get("eval") is False:
                continue
            try:
                await client.async_execute_cell(cell, index)
            except CellExecutionError as exc:
                where = _describe(cell, job.name)
                label = cell.metadata.get("survey", {}).get("label")
                trace = _ANSI.sub("", str(exc))
                raise RenderError(
                    f"{where} failed:\n{trace}", file=job.name, column=label
                ) from None
            except (CellTimeoutError, DeadKernelError) as exc:
                where = _describe(cell, job.name)
                raise RenderError(f"{where}: {exc}", file=job.name) from None


def execute_notebook(
    nb: nbformat.NotebookNode, *, cwd: Path, name: str, timeout: int = 600
) -> nbformat.NotebookNode:
    """Execute ``nb`` in place (working directory ``cwd``) and return it."""
    return execute_many([Job(nb, Path(cwd), name)], timeout=timeout)[0]


def execute_many(
    jobs: Sequence[Job],
    *,
    timeout: int = 600,
    workers: int = 1,
    on_done: Callable[[Job], None] | None = None,
) -> list[nbformat.NotebookNode]:
    """Execute several notebooks, at most ``workers`` kernels at once; results in job order.

    The first failure (in job order among those that failed) is raised as ``RenderError``.
    """
    ensure_kernelspec()

    async def main() -> list[nbformat.NotebookNode | BaseException]:
        gate = asyncio.Semaphore(max(1, workers))

        async def one(job: Job) -> nbformat.NotebookNode:
            async with gate:
                result = await _run(job, timeout)
            if on_done:
                on_done(job)
            return result

        return await asyncio.gather(*(one(j) for j in jobs), return_exceptions=True)

    results = _run_coroutine(main)
    for res in results:
        if isinstance(res, BaseException):
            raise res
    return list(results)  # type: ignore[arg-type]


def _run_coroutine(factory: Callable[[], object]) -> list:
    """``asyncio.run`` that also works when called from a running loop (e.g. inside Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())  # type: ignore[arg-type]
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
