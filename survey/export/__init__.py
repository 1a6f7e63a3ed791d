"""Exporters of the table model (:mod:`survey.tables`): one module per format.

- :mod:`survey.export.html` — great-tables and fast HTML of a banner book (``Banner.to_gt``,
  ``Banner.to_html``), a full document with ``html_document``;
- :mod:`survey.export.xlsx` — Excel tabs (``to_xlsx``, ``Banner.to_excel``);
- :mod:`survey.export.pptx` — PowerPoint with native charts and tables (``Deck``,
  ``save_chart``, ``Banner.to_pptx``);
- :mod:`survey.export.deck` — the key charts of an edition (``report_deck``, ``survey deck``).

Example:
    >>> from survey.export.xlsx import to_xlsx
    >>> to_xlsx(b.table("en"), tmp / "export.xlsx").exists()
    True
"""
