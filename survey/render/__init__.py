"""Render the Quarto report without Quarto: Jupyter kernel, pandoc HTML, typst PDF.

Example:
    >>> from survey.render import render_report
    >>> paths = render_report("report", formats=("html", "pdf"))  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['html', 'pdf']
"""

from survey.render.project import DEFAULT_PARAMS, load_project, render_report

__all__ = ["DEFAULT_PARAMS", "load_project", "render_report"]
