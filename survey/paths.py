"""Where the package finds its data and report sources, installed or from a checkout.

Example:
    >>> from survey.paths import data_dir
    >>> (data_dir() / "codebook.yaml").exists()
    True
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def repo_root() -> Path | None:
    """The checkout root when the package runs from a source tree, else ``None``."""
    root = _PKG.parent
    return root if (root / "pyproject.toml").exists() and (root / "data").is_dir() else None


def data_dir() -> Path:
    """The data folder: ``$SURVEY_DATA_DIR``, the checkout's ``data/``, or the installed copy."""
    env = os.environ.get("SURVEY_DATA_DIR")
    if env:
        return Path(env)
    root = repo_root()
    return root / "data" if root else _PKG / "_data"


def report_dir() -> Path:
    """The Quarto project folder: the checkout's ``report/`` or the installed copy."""
    root = repo_root()
    return root / "report" if root else _PKG / "_report"


def waves_dir() -> Path:
    """Folder with one respondent-level wave file per edition (``YEAR.parquet``)."""
    return data_dir() / "waves"


def published_dir() -> Path:
    """Folder with the published aggregate figures, one CSV per edition plus context tables."""
    return data_dir() / "published"
