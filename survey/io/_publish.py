"""Publish a wave and its validation log together, under a lock per edition.

* :func:`edition_lock`: an exclusive ``flock`` on ``<folder>/.<edition>.ingest.lock`` (the file
  stays; a kill releases the lock with the process). A second ingest of the same edition waits up
  to ``wait`` seconds, then refuses with a message naming the process that holds it.
* :func:`publish`: both files are written to temporary files beside their targets, then moved into
  place, the wave first; if the second move fails the first is undone (the previous wave comes
  back from a hard-linked backup), so the folder holds both new files or neither. Temporary files
  are removed on every exit Python sees (errors, Ctrl-C, SIGTERM, SIGHUP); what a SIGKILL leaves
  (``.*.tmp``, ``.*.bak``) is ignored by git and removed by the next publish.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with edition_lock(folder, 2026):
    ...     paths = publish({folder / "2026.txt": lambda p: p.write_text("wave"),
    ...                      folder / "2026.log": lambda p: p.write_text("log")})
    >>> sorted(p.name for p in folder.iterdir())
    ['.2026.ingest.lock', '2026.log', '2026.txt']
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from survey.errors import SurveyError

FILE_MODE = 0o644


class LockedError(SurveyError):
    """Another process holds the lock of the edition."""


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def edition_lock(folder: Path, edition: int, wait: float = 0.0) -> Iterator[Path]:
    """Hold the ingest lock of ``edition`` in ``folder`` (see the module docstring)."""
    import fcntl

    path = Path(folder) / f".{edition}.ingest.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another ingest of edition {edition} is running ({_holder(path)}); "
                        f"wait for it to finish, then run this one again",
                        file=str(path),
                        expected="one ingest per edition at a time (or --wait SECONDS)",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`KeyboardInterrupt` meanwhile (so cleanup code runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _temp(target: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    return Path(name)


def clean_stale(folder: Path, names: list[str]) -> None:
    """Remove temporary files a killed publish left for ``names`` (call under the lock)."""
    for name in names:
        for leftover in Path(folder).glob(f".{name}.*"):
            if leftover.suffix in (".tmp", ".bak"):
                with contextlib.suppress(OSError):
                    leftover.unlink()


def publish(files: Mapping[Path, Callable[[Path], None]]) -> list[Path]:
    """Write every ``target -> write(tmp)`` and move all into place, or none (module docstring)."""
    targets = list(files)
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path] = {}
    moved: list[Path] = []
    with signals_as_interrupts():
        try:
            for target in targets:
                tmp = _temp(target, ".tmp")
                temps[target] = tmp
                files[target](tmp)
                os.chmod(tmp, FILE_MODE)
            for target in targets:
                if target.exists():
                    bak = _temp(target, ".bak")
                    bak.unlink()
                    os.link(target, bak)
                    backups[target] = bak
            for target in targets:
                os.replace(temps[target], target)
                del temps[target]
                moved.append(target)
        except BaseException:
            for target in reversed(moved):  # undo: the earlier files come back
                with contextlib.suppress(OSError):
                    if target in backups:
                        os.replace(backups.pop(target), target)
                    else:
                        target.unlink()
            raise
        finally:
            for path in [*temps.values(), *backups.values()]:
                with contextlib.suppress(OSError):
                    path.unlink()
    return targets
