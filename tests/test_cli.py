"""The CLI is a thin layer: help texts, argument handling and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from survey.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for command in ("figures", "validate", "synth", "ingest", "report"):
        assert re.search(rf"^\s+{command}\s+\S", out, re.M), command


@pytest.mark.parametrize("command", ["figures", "validate", "synth", "ingest", "report"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "usage: survey " + command in capsys.readouterr().out


def test_report_params_follow_quarto_syntax() -> None:
    args = build_parser().parse_args(["report", "-P", "edition:2024", "--lang", "en"])
    assert args.param == ["edition:2024"] and args.lang == "en"


def test_readme_and_ci_run_the_same_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    setup = [line for block in blocks for line in block.splitlines() if line and not line.startswith("#")]
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", "set ", "cd ", "export "))
    ]
    assert ci == setup[:2], (ci, setup)


def test_readme_quickstart_runs() -> None:
    """The README's notebook quickstart runs as written and gives the wave's numbers."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    scope: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), scope)
    wave = scope["wave"]
    assert wave.edition == 2025 and wave.frame.height == 228
    book = scope["book"].to_polars()
    assert set(book["question_id"]) == {"confidence", "challenges"}


def test_wheel_ships_every_report_source() -> None:
    """pyproject's force-include lists each report source (a new chapter must be added there)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    sources = [*sorted((ROOT / "report").glob("*.qmd")), ROOT / "report" / "_quarto.yml"]
    sources.append(ROOT / "report" / "strings.yml")
    for path in sources:
        rel = path.relative_to(ROOT).as_posix()
        assert shipped.get(rel) == f"survey/_report/{path.name}", rel
