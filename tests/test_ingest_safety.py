"""Ingest under faults: locks, both-or-neither publishing, temporary files, OS errors, bad mappings
(issue 12: lost work and tracebacks)."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from survey.cli import main
from survey.codebook import Codebook
from survey.errors import SurveyError
from survey.ingest import delivery_frame, ingest
from survey.io import _publish, read_metadata, write_table
from survey.io.mapping import load_mapping

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"
CLI = "import sys; from survey.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


def _frame(cb: Codebook, industry: str = "beauty") -> pl.DataFrame:
    dt = cb.column_dtypes()
    frame = pl.DataFrame(
        {
            "resp_id": ["r1", "r2"],
            "industry": [industry, "auto"],
            "confidence": ["flat", None],
            "budget_growth_expected": [8.0, -5.0],
            "challenges__measurement": [True, False],
            "challenges__roi": [True, True],
            "challenges__competition": [False, True],
            "media_intent__mobile": ["increase", "flat"],
            "media_intent__outdoor": ["flat", None],
            "budget_split__brand": [60.0, 40.0],
            "budget_split__performance": [40.0, 60.0],
        }
    )
    return delivery_frame(frame.with_columns([pl.col(c).cast(dt[c]) for c in frame.columns]), cb)


@pytest.fixture()
def good(tmp_path: Path, cb: Codebook) -> Path:
    return write_table(_frame(cb), tmp_path / "good.csv")


@pytest.fixture()
def bad(tmp_path: Path, cb: Codebook) -> Path:
    return write_table(
        _frame(cb).with_columns(pl.lit("飞机").alias("所属行业")), tmp_path / "bad.csv"
    )


@pytest.fixture()
def real_good(tmp_path: Path) -> Path:
    """A delivery of the shipped codebook (the CLI's), 20 respondents."""
    from survey.io import load_wave

    wave = load_wave(2025)
    return write_table(
        delivery_frame(wave.frame.head(20), wave.codebook), tmp_path / "real_good.csv"
    )


@pytest.fixture()
def real_bad(tmp_path: Path) -> Path:
    from survey.io import load_wave

    wave = load_wave(2025)
    frame = delivery_frame(wave.frame.head(20), wave.codebook)
    header = wave.codebook["industry"].text("zh")
    return write_table(frame.with_columns(pl.lit("飞机").alias(header)), tmp_path / "real_bad.csv")


def test_a_second_ingest_of_the_same_edition_is_refused_while_the_first_runs(tmp_path, cb, good):
    out = tmp_path / "waves"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from survey.io._publish import edition_lock; import pathlib, time\n"
            f"with edition_lock(pathlib.Path({str(out)!r}), 2026):\n    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SurveyError, match="another ingest of edition 2026 is running \\(pid"):
            ingest(good, edition=2026, codebook=cb, out_dir=out)
    finally:
        holder.kill()
        holder.wait()
    assert ingest(good, edition=2026, codebook=cb, out_dir=out).ok  # the lock is released


def test_two_concurrent_ingests_leave_one_wave_whose_log_matches_it(tmp_path):
    from survey.io import load_wave

    wave = load_wave(2025)
    frames = {
        name: delivery_frame(wave.frame.head(40), wave.codebook).with_columns(
            (pl.lit(name) + pl.col(wave.codebook.id_label_zh)).alias(wave.codebook.id_label_zh)
        )
        for name in ("a", "b")
    }
    sources = {name: write_table(f, tmp_path / f"{name}.csv") for name, f in frames.items()}
    out = tmp_path / "waves"
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", CLI, "ingest", str(src), "--edition", "2026", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, src in sources.items()
    }
    codes = {name: p.wait(timeout=300) for name, p in procs.items()}
    errors = {name: procs[name].stderr.read() for name in procs}
    assert sorted(codes.values()) == [0, 2], (codes, errors)
    winner = next(n for n, c in codes.items() if c == 0)
    loser = next(n for n, c in codes.items() if c == 2)
    assert "another ingest of edition 2026 is running" in errors[loser] or "exists" in errors[loser]
    assert "Traceback" not in errors[loser]
    meta = read_metadata(out / "2026.parquet")
    log = (out / "2026.validation.log").read_bytes()
    assert meta["source_file"] == f"{winner}.csv"
    assert meta["validation_log_sha256"] == hashlib.sha256(log).hexdigest()
    assert log.decode("utf-8").startswith(f"ingest {winner}.csv")
    assert sorted(p.name for p in out.iterdir()) == [
        ".2026.ingest.lock",
        "2026.parquet",
        "2026.validation.log",
    ]


def test_a_failed_force_never_replaces_the_existing_log(tmp_path, cb, good, bad):
    first = ingest(good, edition=2026, codebook=cb, out_dir=tmp_path)
    wave, log = first.wave_path.read_bytes(), first.log_path.read_bytes()
    again = ingest(bad, edition=2026, codebook=cb, out_dir=tmp_path, force=True)
    assert not again.ok and again.log_path == tmp_path / "2026.rejected.log"
    assert first.wave_path.read_bytes() == wave and first.log_path.read_bytes() == log
    assert "飞机" in again.log_path.read_text(encoding="utf-8")


def test_wave_and_log_are_published_together_or_not_at_all(tmp_path, cb, good, monkeypatch):
    first = ingest(good, edition=2026, codebook=cb, out_dir=tmp_path)
    wave, log = first.wave_path.read_bytes(), first.log_path.read_bytes()
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if str(dst).endswith("2026.validation.log"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(_publish.os, "replace", flaky)
    other = write_table(_frame(cb, "food_bev"), tmp_path / "other.csv")
    with pytest.raises(SurveyError, match="nothing was replaced"):
        ingest(other, edition=2026, codebook=cb, out_dir=tmp_path, force=True)
    monkeypatch.setattr(_publish.os, "replace", real)
    assert first.wave_path.read_bytes() == wave and first.log_path.read_bytes() == log
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".tmp", ".bak")]


def test_temporary_files_are_cleaned_on_interrupt(tmp_path, cb, good, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import pyarrow.parquet as pq

    monkeypatch.setattr(pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(good, edition=2026, codebook=cb, out_dir=tmp_path / "w")
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [".2026.ingest.lock"]


def test_sigterm_during_ingest_leaves_nothing_behind(tmp_path, cb, good):
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import pyarrow.parquet as pq
real = pq.write_table
def slow(*a, **k):
    real(*a, **k)
    os.kill(os.getpid(), signal.SIGTERM)
pq.write_table = slow
from survey.codebook import Codebook
from survey.ingest import ingest
ingest({str(good)!r}, edition=2026, codebook=Codebook.load({str(MINI)!r}), out_dir={str(tmp_path / "w")!r})
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [".2026.ingest.lock"]


def test_stale_temporary_files_of_a_killed_ingest_are_removed_and_ignored_by_git(
    tmp_path, cb, good
):
    out = tmp_path / "w"
    out.mkdir()
    stale = [out / ".2026.parquet.abc123.tmp", out / ".2026.validation.log.x.bak"]
    for p in stale:
        p.write_text("half")
    assert ingest(good, edition=2026, codebook=cb, out_dir=out).ok
    assert not any(p.exists() for p in stale)
    root = Path(__file__).parents[1]
    names = [
        "data/waves/.2026.parquet.abc123.tmp",
        "data/waves/.2026.ingest.lock",
        "data/waves/2026.rejected.log",
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", *names], cwd=root, capture_output=True, text=True
    )
    assert ignored.stdout.split() == names


# -- one message, no traceback --------------------------------------------------------------------
def test_read_only_waves_folder_is_one_message(tmp_path, good, bad, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "w"))

    monkeypatch.setattr(_publish.os, "open", denied)
    code = main(["ingest", str(good), "--edition", "2026", "--out", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write in the output folder" in err and "Traceback" not in err


def test_full_disk_is_one_message_and_the_problems_are_still_printed(
    tmp_path, real_bad, capsys, monkeypatch
):
    real = _publish.publish

    def full(files):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_publish, "publish", full)
    code = main(["ingest", str(real_bad), "--edition", "2026", "--out", str(tmp_path / "w")])
    out = capsys.readouterr()
    assert code == 1 and "found '飞机'" in out.out and "could not write" in out.out
    assert "Traceback" not in out.err
    monkeypatch.setattr(_publish, "publish", real)


def test_full_disk_while_publishing_a_good_wave(tmp_path, real_good, capsys, monkeypatch):
    def full(files):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_publish, "publish", full)
    code = main(["ingest", str(real_good), "--edition", "2026", "--out", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "nothing was replaced" in err
    assert not (tmp_path / "w" / "2026.parquet").exists()


def test_out_below_a_file_is_one_message(tmp_path, good, capsys):
    (tmp_path / "afile").write_text("x")
    code = main(
        ["ingest", str(good), "--edition", "2026", "--out", str(tmp_path / "afile" / "waves")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is a file" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("columns:\n  - 行业\n  - industry\n".encode(), "'columns' is a list, not a mapping"),
        (
            "options:\n  industry: [美妆, beauty]\n".encode(),
            "options of question 'industry' are a list",
        ),
        (b"options: [industry]\n", "'options' is a list, not a mapping"),
        (b"just a sentence\n", "holds a text ('just a sentence'), not sections"),
        (b"colums: {a: b}\n", "unknown section(s) ['colums']"),
        (b"columns: {a: [b\n", "is not valid YAML at line"),
        (b"\x00\x01binary", "NUL"),
        ("columns:\n  提交时间:\n".encode(), "maps to nothing"),
    ],
)
def test_malformed_mapping_files_are_one_message(tmp_path, good, capsys, content, message):
    path = tmp_path / "m.yaml"
    path.write_bytes(content)
    code = main(
        [
            "ingest",
            str(good),
            "--edition",
            "2026",
            "--mapping",
            str(path),
            "--out",
            str(tmp_path / "w"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and str(path) in err and "Traceback" not in err, err


def test_gbk_mapping_file_is_read(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(
        'columns:\n  "Q1 贵司所属行业": industry\n  "提交时间": ignore\n'.encode("gbk")
    )
    assert load_mapping(path)["columns"] == {"Q1 贵司所属行业": "industry", "提交时间": "ignore"}


def test_yaml_booleans_in_a_mapping_are_read_as_typed(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("options:\n  q: {是: yes, 否: no}\n", encoding="utf-8")
    assert load_mapping(path)["options"] == {"q": {"是": "yes", "否": "no"}}
