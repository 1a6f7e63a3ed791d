"""The ``survey`` command: a thin layer over the library.

Each command lives in its own module of this package (``NAME``, ``HELP``, ``add_arguments``,
``run``) and calls one library function; the statistics live in the library. Exit codes: 0 done,
1 problems found (``validate``, ``ingest``, ``figures --check``), 2 could not run (bad arguments,
unreadable files, OS errors), 130 interrupted. No traceback reaches the user: set
``SURVEY_DEBUG=1`` to see one.

Example:
    >>> build_parser().prog
    'survey'
    >>> sorted(COMMANDS)[:3]
    ['codebook', 'deck', 'figures']
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from survey.errors import SurveyError

#: command name -> module (in the order of ``survey --help``); a new command is one line here.
COMMANDS: dict[str, str] = {
    "figures": "survey.cli.figures",
    "validate": "survey.cli.validate",
    "synth": "survey.cli.synth",
    "ingest": "survey.cli.ingest",
    "report": "survey.cli.report",
    "tabs": "survey.cli.tabs",
    "deck": "survey.cli.deck",
    "codebook": "survey.cli.codebook",
}

_DESCRIPTION = """\
Toolkit for the advertiser survey behind the 中国数字营销趋势报告 (China Digital Marketing Trends Report).
Run `survey COMMAND --help` for the options of a command.
"""

_EPILOG = """\
examples:
  survey figures --check                 contradictions between the sources of published figures
  survey validate delivery.xlsx --edition 2026
  survey synth --report                  published figure against synthetic estimate, pass/fail
  survey ingest delivery.xlsx --edition 2026 --mapping mapping.yaml
  survey report -P lang:en --to html
  survey tabs --cols job_level,brand_type --where "industry=beauty,food_bev" -o tabs.xlsx
  survey deck -o deck.pptx               the key charts as native PowerPoint charts
  survey codebook --search 信心

exit codes: 0 done, 1 problems found, 2 could not run
"""


def _module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``survey`` command (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="survey",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for name in COMMANDS:
        module = _module(name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def _fail(message: str, expected: str | None = None) -> int:
    if expected and expected not in message:
        message += f"\n  expected: {expected}"
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (errors print a short reason, exit code 2)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SurveyError as e:
        return _fail(str(e), e.expected)
    except BrokenPipeError:  # `survey figures | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return _fail(
            f"could not run: {e.strerror or e}{where}",
            "a readable input, a writable output folder and free disk space",
        )
    except Exception as e:  # no traceback reaches a user; SURVEY_DEBUG=1 shows it
        if os.environ.get("SURVEY_DEBUG"):
            raise
        return _fail(
            f"internal error ({type(e).__name__}: {e}); rerun with SURVEY_DEBUG=1 for the "
            "traceback and report it",
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
