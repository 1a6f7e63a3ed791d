"""Decode a delivered text file: one encoding per file, decided from the whole file.

Accepted: UTF-8 (with or without BOM), GB18030 (which includes GBK and GB2312) and UTF-16 with a
BOM (what Excel saves as "Unicode text"; also recognised without BOM when every other byte is
NUL). Refused, naming the line: a file that mixes encodings (some lines UTF-8, others GBK: the
reading would turn one of them into mojibake), undecodable bytes, and a NUL character anywhere.

Example:
    >>> decode("行业".encode("gb18030"))
    '行业'
    >>> decode("\\ufeff行业".encode("utf-16-le"))
    '行业'
"""

from __future__ import annotations

import re
from pathlib import Path

from survey.errors import WaveFormatError

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def _fail(
    file: str | Path, what: str, expected: str, line: int | None, value: object = None
) -> WaveFormatError:
    p = Path(file)
    return WaveFormatError(f"{p}: {what}", file=str(p), row=line, value=value, expected=expected)


_EXPECTED = "text encoded as UTF-8, GB18030/GBK or UTF-16 (one encoding for the whole file)"


def _utf16(data: bytes) -> str | None:
    """The encoding when ``data`` is UTF-16 (a BOM, or NUL in every other byte of ASCII text)."""
    if data[:2] == b"\xff\xfe":
        return "utf-16"
    if data[:2] == b"\xfe\xff":
        return "utf-16"
    head = data[:2000]
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def decode(data: bytes, file: str | Path = "input") -> str:
    """Decode a whole text file (see the module docstring); raise :class:`WaveFormatError`.

    >>> decode(b"id\\n" + "北京".encode("utf-8") + b"\\n" + "上海".encode("gbk"), "w.csv")
    Traceback (most recent call last):
    ...
    survey.errors.WaveFormatError: w.csv: mixes encodings: line 2 is UTF-8 but line 3 is not (GB18030/GBK?); one of them would be read as mojibake
    """
    encoding = _utf16(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as e:
            line = data[: e.start].decode(encoding, errors="replace").count("\n") + 1
            raise _fail(
                file, f"is UTF-16 but byte {e.start} cannot be decoded", _EXPECTED, line
            ) from None
        text = text.removeprefix("\ufeff")
    else:
        text = _decode_8bit(data, file)
    nul = text.find("\x00")
    if nul >= 0:
        line = _line_of(text, nul)
        raise _fail(
            file,
            f"contains a NUL character (line {line})",
            "a delimited text file without NUL characters (binary data?)",
            line,
            "\\x00",
        )
    return text


def _decode_8bit(data: bytes, file: str | Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    utf8_line = other_line = None
    for i, raw in enumerate(data.split(b"\n"), start=1):
        if raw.isascii():
            continue
        try:
            decoded = raw.decode("utf-8-sig" if i == 1 else "utf-8")
        except UnicodeDecodeError:
            other_line = other_line or i
        else:
            if _CJK.search(decoded) or sum(ord(ch) > 127 for ch in decoded) >= 2:
                utf8_line = utf8_line or i
        if utf8_line and other_line:
            break
    if utf8_line and other_line:
        first, second = sorted((utf8_line, other_line))
        what = (
            f"line {first} is UTF-8 but line {second} is not (GB18030/GBK?)"
            if first == utf8_line
            else f"line {first} is not UTF-8 (GB18030/GBK?) but line {second} is UTF-8"
        )
        raise _fail(
            file,
            f"mixes encodings: {what}; one of them would be read as mojibake",
            _EXPECTED + " (save the file again with one encoding)",
            second,
        )
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        bad = data[e.start : e.start + 4]
        raise _fail(
            file, f"cannot decode byte {e.start} (line {line}, bytes {bad!r})", _EXPECTED, line, bad
        ) from None
