"""Property tests: malformed wave files either load with exactly their rows or raise our errors.

Never another exception type, never a crash, never a silently dropped row.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from survey.codebook import Codebook
from survey.errors import ValidationError, WaveFormatError
from survey.io import (
    KINDS,
    PartialWaveWarning,
    load_wave,
    validate,
    validate_file,
    write_table,
    write_wave,
)
from survey.io import read as reader
from survey.wave import Wave

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"
CB = Codebook.load(MINI)
SETTINGS = settings(
    max_examples=int(os.environ.get("SURVEY_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORMATS = ["csv", "tsv", "xlsx", "parquet", "sav"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]

# cells: printable text of any script plus the characters that break naive CSV/Excel handling
CELL_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from([",", '"', "\n", "\r", "\t", "\u3000", " ", "%", "是", "否", "1", "0"]),
    ),
    max_size=12,
)


@st.composite
def typed_frames(draw: st.DrawFn) -> pl.DataFrame:
    """A valid typed wave on the mini codebook with 1–8 respondents."""
    n = draw(st.integers(1, 8))
    ids = draw(
        st.lists(
            st.text("abc123汽车-_", min_size=1, max_size=6), min_size=n, max_size=n, unique=True
        )
    )
    data: dict[str, list] = {"resp_id": ids}
    for q in CB:
        if q.type in ("single", "grid"):
            choice = st.sampled_from(q.codes())
            for c in q.columns():
                data[c] = draw(
                    st.lists(choice if q.required else st.none() | choice, min_size=n, max_size=n)
                )
        elif q.type == "multi":
            for c in q.columns():
                data[c] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        elif q.type == "numeric":
            lo, hi = q.range or (0, 100)
            num = st.integers(int(lo), int(hi)).map(float) | st.sampled_from([12.5, -0.25])
            data[q.id] = draw(st.lists(st.none() | num, min_size=n, max_size=n))
        else:
            first, second = q.columns()
            parts = draw(st.lists(st.none() | st.integers(0, 100), min_size=n, max_size=n))
            data[first] = [None if v is None else float(v) for v in parts]
            data[second] = [None if v is None else float(100 - v) for v in parts]
    data["weight"] = draw(st.lists(st.floats(0.01, 100), min_size=n, max_size=n))
    dtypes = CB.column_dtypes()
    return pl.DataFrame(data).with_columns(pl.col(c).cast(dtypes[c]) for c in data)


def as_text(frame: pl.DataFrame, lang: str | None) -> pl.DataFrame:
    """The typed frame as strings: codes (``lang=None``) or labels, multi as 1/0 (blank: null)."""
    shown = Wave(frame, None, CB).labelled(lang) if lang else frame
    return shown.with_columns(
        pl.col(pl.Enum).cast(pl.String),
        pl.when(pl.col(pl.Boolean))
        .then(pl.lit("1"))
        .when(pl.col(pl.Boolean).not_())
        .then(pl.lit("0"))
        .otherwise(pl.lit(""))
        .name.keep(),
        pl.col(pl.Float64).cast(pl.String),
    )


def write(frame: pl.DataFrame, folder: Path, fmt: str, encoding: str) -> Path:
    """Write a fixture; CSV bytes are encoded by hand so that any encoding can be tried."""
    path = folder / f"wave.{fmt}"
    if fmt in ("csv", "tsv"):
        text = frame.write_csv(separator="\t" if fmt == "tsv" else ",", null_value="")
        path.write_bytes(text.encode(encoding, errors="replace"))
        return path
    return write_table(frame, path, codebook=CB)


def non_blank_rows(frame: pl.DataFrame) -> int:
    return sum(
        any(v is not None and str(v).strip() != "" for v in row) for row in frame.iter_rows()
    )


def check_load(path: Path) -> Wave | None:
    """Load ``path``; only our two error types may escape. Also validate_file never raises."""
    report = validate_file(path, codebook=CB)
    assert all(p.kind in (*KINDS, "unreadable") for p in report.problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialWaveWarning)
            wave = load_wave(path, codebook=CB)
    except (ValidationError, WaveFormatError) as e:
        assert not report.ok, "validate_file and load_wave disagree"
        if isinstance(e, ValidationError):
            assert e.problems
        return None
    # load_wave keeps extra columns and leaves out absent questions (bring your own data);
    # validate_file is strict about both, and about nothing else
    assert {p.kind for p in report.problems} <= {"unknown_column", "missing_column"}
    for p in report.problems:
        assert p.column in wave.frame.columns
        if p.kind == "missing_column":
            assert wave.frame[p.column].null_count() == wave.n
    return wave


@SETTINGS
@given(frame=typed_frames(), fmt=st.sampled_from(FORMATS), lang=st.sampled_from([None, "zh", "en"]))
def test_valid_waves_round_trip_in_every_format(frame, fmt, lang):
    encoding = "gb18030" if lang == "zh" else "utf-8-sig"
    with tempfile.TemporaryDirectory() as tmp:
        source = frame if fmt in ("parquet", "sav") and lang is None else as_text(frame, lang)
        wave = load_wave(write(source, Path(tmp), fmt, encoding), codebook=CB)
        assert_frame_equal(wave.frame, frame)


@st.composite
def corrupted(draw: st.DrawFn) -> pl.DataFrame:
    """A valid wave as text with random cells replaced and columns added or dropped."""
    frame = as_text(draw(typed_frames()), draw(st.sampled_from([None, "zh", "en"])))
    cells = frame.to_dict(as_series=False)
    names = list(cells)
    for _ in range(draw(st.integers(0, 4))):
        column = draw(st.sampled_from(names))
        row = draw(st.integers(0, frame.height - 1))
        cells[column][row] = draw(st.none() | CELL_TEXT)
    for column in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        del cells[column]
    for extra in draw(
        st.lists(
            st.sampled_from(["note", "budget_growth", "challenges__x"]), max_size=2, unique=True
        )
    ):
        cells[extra] = draw(
            st.lists(st.none() | CELL_TEXT, min_size=frame.height, max_size=frame.height)
        )
    if not cells:
        cells["resp_id"] = frame["resp_id"].to_list()
    return pl.DataFrame(cells, schema={c: pl.String for c in cells})


@SETTINGS
@given(raw=corrupted())
def test_validate_never_drops_rows(raw):
    typed, problems = validate(raw, CB, file="mem.csv")
    assert all(p.kind in KINDS and p.file == "mem.csv" for p in problems)
    assert all(p.row is None or 2 <= p.row <= raw.height + 1 for p in problems)
    if problems:
        assert typed is None
    else:
        assert typed is not None and typed.height == raw.height


@SETTINGS
@given(raw=corrupted(), fmt=st.sampled_from(FORMATS), encoding=st.sampled_from(ENCODINGS))
def test_corrupted_cells_load_or_raise(raw, fmt, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(raw, Path(tmp), fmt, encoding)
        wave = check_load(path)
        if wave is not None:
            assert wave.n == non_blank_rows(raw)


@st.composite
def garbled(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bytes of a valid wave file in some format, then truncated, overwritten or padded."""
    frame = draw(typed_frames())
    fmt = draw(st.sampled_from(FORMATS))
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "parquet" and draw(st.booleans()):
            data = write_wave(frame, Path(tmp) / "w.parquet", edition=2025).read_bytes()
        else:
            data = write(
                as_text(frame, "zh"), Path(tmp), fmt, draw(st.sampled_from(ENCODINGS))
            ).read_bytes()
    how = draw(st.sampled_from(["truncate", "overwrite", "insert", "random", "foreign"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "overwrite":
        start = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=64))
        data = data[:start] + chunk + data[start + len(chunk) :]
    elif how == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    elif how == "random":
        data = draw(st.binary(max_size=256))
    else:  # a valid file of another format under this extension
        fmt = draw(st.sampled_from([f for f in FORMATS if f != fmt]))
    return data, fmt


@SETTINGS
@given(case=garbled())
def test_byte_garbage_never_crashes(case):
    data, fmt = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"wave.{fmt}"
        path.write_bytes(data)
        check_load(path)


# cells of a CSV without quotes: anything but the delimiter, quotes and line breaks
PLAIN_CELL = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='",;'),
        st.sampled_from([" ", "\u3000", "\t", "是", "%"]),
    ),
    max_size=6,
)


@st.composite
def plain_csv(draw: st.DrawFn) -> str:
    """CSV text without quotes: ragged, blank and whitespace-only rows, LF or CRLF."""
    width = draw(st.integers(1, 4))
    header = draw(st.lists(PLAIN_CELL, min_size=width, max_size=width))
    rows = draw(
        st.lists(st.lists(PLAIN_CELL, min_size=0, max_size=width + 1), min_size=0, max_size=6)
    )
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    end = draw(st.sampled_from(["", newline, newline * 2]))
    return newline.join(",".join(r) for r in [header, *rows]) + end


def read_with(read, text: str) -> pl.DataFrame | str:
    try:
        return read(text)
    except WaveFormatError as e:
        return str(e)


@SETTINGS
@given(text=plain_csv())
def test_native_and_csv_module_readers_agree(text):
    """polars' reader (taken when it is exact) gives the csv module's table, or the same error."""
    path = Path("m.csv")
    fast = read_with(lambda t: reader._csv_fast(path, t, ","), text)
    slow = read_with(
        lambda t: reader._from_rows(path, reader._csv_rows(path, t, ","), "the file"), text
    )
    if fast is None:  # not certain to be exact (quotes, wide rows, leading blank rows …)
        return
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
    else:
        assert_frame_equal(fast, slow)


def test_native_reader_is_taken_for_a_plain_file():
    text = "resp_id,industry,note\r\na,auto,\r\n\r\nb,,\u3000\r\n"
    fast = reader._csv_fast(Path("m.csv"), text, ",")
    assert fast is not None
    assert fast.rows() == [(2, "a", "auto", None), (4, "b", None, "\u3000")]
    assert reader._csv_fast(Path("m.csv"), 'resp_id\n"a"\n', ",") is None
    assert reader._csv_fast(Path("m.csv"), "resp_id\na,b\n", ",") is None
