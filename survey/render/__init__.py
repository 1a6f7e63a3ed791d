"""Render the Quarto report without Quarto: Jupyter kernel, pandoc HTML, typst PDF.

The report itself: ``render_report("report", params={"lang": "zh"})`` writes
``report/_output/report.zh.html`` and ``report.zh.pdf`` (a 16:9 deck); see
:func:`survey.render.project.render_report`.

Example:
    >>> from survey.render import DEFAULT_PARAMS
    >>> DEFAULT_PARAMS["lang"]
    'zh'
"""

from survey.render.project import DEFAULT_PARAMS, load_project, render_report

__all__ = ["DEFAULT_PARAMS", "load_project", "render_report"]
