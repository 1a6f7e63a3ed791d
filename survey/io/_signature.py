"""What a wave file really is, from its first bytes, against what its name says.

A ``.csv`` holding a zip archive, an ``.xlsx`` that is a legacy or password-protected Office
file, a truncated Parquet file: each is refused with a :class:`~survey.errors.WaveFormatError`
that names the file and what was expected, before any parser sees it.

Example:
    >>> from pathlib import Path
    >>> _sniff(b"PK\x03\x04...")
    'a zip archive (such as .xlsx)'
    >>> try:
    ...     _check_signature(Path("w.csv"), ".csv", b"PK\x03\x04...")
    ... except WaveFormatError as e:
    ...     print(e)
    w.csv: named .csv but contains a zip archive (such as .xlsx)
"""

from __future__ import annotations

from pathlib import Path

from survey.errors import WaveFormatError

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE2 files (also encrypted .xlsx)
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_PARQUET = b"PAR1"
_SAV = (b"$FL2", b"$FL3")


def _err(p: Path, what: str, expected: str, *, row: int | None = None) -> WaveFormatError:
    return WaveFormatError(f"{p}: {what}", file=str(p), row=row, expected=expected)


def _sniff(data: bytes) -> str:
    if data.startswith(_ZIP):
        return "a zip archive (such as .xlsx)"
    if data.startswith(_OLE):
        if _ENCRYPTED in data[: 1 << 20]:
            return "a password-protected Office file"
        return "a legacy Office file (such as .xls)"
    if data.startswith(_PARQUET):
        return "a Parquet file"
    if data.startswith(_SAV):
        return "an SPSS .sav file"
    return "text or an unknown format"


def _check_signature(p: Path, ext: str, data: bytes) -> None:
    kind = _sniff(data)
    if ext in (".csv", ".tsv", ".txt"):
        if kind != "text or an unknown format":
            raise _err(p, f"named {ext} but contains {kind}", "a delimited text file")
        from survey.io._text import _utf16

        nul = data.find(b"\x00", 0, 65536)
        if nul >= 0 and _utf16(data) is None:
            line = data[:nul].count(b"\n") + 1
            raise _err(
                p,
                f"named {ext} but contains binary data (NUL bytes, first at byte {nul}, line {line})",
                "a delimited text file",
                row=line,
            )
    elif ext in (".xlsx", ".xlsm"):
        if data.startswith(_OLE):
            if kind == "a password-protected Office file":
                raise _err(
                    p,
                    "is a password-protected (encrypted) workbook",
                    "an .xlsx workbook without a password (ask the agency for an unprotected "
                    "copy, or open it and save it without the password)",
                )
            raise _err(p, "is a legacy .xls workbook", "an .xlsx workbook (save as .xlsx)")
        if not data.startswith(_ZIP):
            raise _err(p, f"named {ext} but contains {kind}", "an .xlsx workbook")
    elif ext == ".parquet":
        if len(data) < 12 or not (data.startswith(_PARQUET) and data.endswith(_PARQUET)):
            what = kind if not data.startswith(_PARQUET) else "a truncated Parquet file"
            raise _err(p, f"named .parquet but contains {what}", "a complete Parquet file")
    elif not data.startswith(_SAV):
        raise _err(p, f"named {ext} but contains {kind}", "an SPSS .sav file")
