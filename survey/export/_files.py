"""Writing an output file: through a temporary file, then readable as any normal file."""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish(tmp: str | Path, target: str | Path) -> Path:
    """Move the finished temporary file ``tmp`` to ``target`` with the mode a normal file
    write gets (``0o666`` less the umask: ``-rw-r--r--`` under the usual ``022``), not the
    owner-only mode of :func:`tempfile.mkstemp`.

    Example:
        >>> import tempfile
        >>> fd, name = tempfile.mkstemp(dir=tmp)
        >>> os.close(fd)
        >>> out = publish(name, tmp / "out.bin")
        >>> oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
        True
    """
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)
    return Path(target)
