"""`policyengine score` interrupted (SIGINT, SIGTERM, SIGKILL) and given one file twice.

Each run is a real process, signalled at a known point: when a temporary file the run is writing appears.
Every wait is bounded, so a regression fails fast instead of hanging.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.atomic import OutputError
from policyengine.batch import Job, run
from policyengine.cli import main
from policyengine.facts.uscc import check_character

from .support import ROOT

EXAMPLE_CSV = ROOT / "examples" / "applicants_2021.csv"
OUTPUTS = {"--out": "o.csv", "--rejects": "r.csv", "--audit": "a.jsonl", "--summary": "s.json"}
ROWS = 3000   # the audit alone then takes seconds, far longer than it takes to see it start
pytestmark = pytest.mark.xdist_group("interrupted_runs")   # one worker: the module's inputs are made once


def _options(folder: Path, outputs: dict[str, str]) -> list[str]:
    return [arg for option, name in outputs.items() for arg in (option, str(folder / name))]


def _score(args: list[str], tmpdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "policyengine", "score", *args, "--quiet"], cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(tmpdir)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


def _wait_for(proc: subprocess.Popen[str], folder: Path, pattern: str, timeout: float = 30) -> list[Path]:
    """Wait until a file matching `pattern` (a non-empty one, for a folder: one holding a file) is in `folder`."""
    until = time.monotonic() + timeout
    while True:
        found = [p for p in folder.glob(pattern) if (any(p.iterdir()) if p.is_dir() else p.stat().st_size)]
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before {pattern} appeared: {proc.stderr.read()}")
        if time.monotonic() > until:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{pattern} did not appear within {timeout} s")
        time.sleep(0.005)


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's rows repeated, each with its own valid USCC, in UTF-8."""
    with EXAMPLE_CSV.open(encoding="gbk", newline="") as fh:
        header, *body = list(csv.reader(fh))
    uscc = header.index("统一社会信用代码")
    path = tmp_path_factory.mktemp("input") / "applicants.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(ROWS):
            row = list(body[i % len(body)])
            first17 = f"91210105{i:09d}"
            row[uscc] = first17 + check_character(first17)
            writer.writerow(row)
    return path


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A private TMPDIR, and the four outputs of a complete run (made with it, so that what a run keeps there
    for good, such as the parser's cache, is there before the runs under test)."""
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    folder = tmp_path_factory.mktemp("previous")
    status, err = _finish(_score([str(EXAMPLE_CSV), *_options(folder, OUTPUTS)], tmpdir))
    assert status == 0, err
    return tmpdir, folder


def _copy_previous(previous: Path, folder: Path) -> dict[str, bytes]:
    for name in OUTPUTS.values():
        shutil.copy2(previous / name, folder / name)
    return _contents(folder)


@pytest.mark.parametrize(("signum", "status", "line"), [(signal.SIGINT, 130, "interrupted"),
                                                        (signal.SIGTERM, 143, "terminated")],
                         ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_leaves_the_previous_outputs(big: Path, previous: tuple[Path, Path], tmp_path: Path,
                                                        signum: int, status: int, line: str) -> None:
    tmpdir, prior = previous
    before = _copy_previous(prior, tmp_path)
    in_tmpdir = _listing(tmpdir)
    proc = _score([str(big), *_options(tmp_path, OUTPUTS)], tmpdir)
    _wait_for(proc, tmp_path, ".a.jsonl.*.part")             # writing the audit: out and rejects already written
    assert len(list(tmp_path.glob(".o.csv.*.part"))) == 1   # … under their temporary names
    proc.send_signal(signum)
    assert _finish(proc) == (status, line + "\n")
    assert _contents(tmp_path) == before                     # every previous output byte for byte, nothing else
    assert _listing(tmp_path) == set(OUTPUTS.values())
    assert _listing(tmpdir) == in_tmpdir


def test_an_interrupted_xlsx_leaves_nothing_in_tmpdir(big: Path, previous: tuple[Path, Path], tmp_path: Path) -> None:
    tmpdir, _ = previous
    (tmp_path / "o.xlsx").write_bytes(b"previous run")
    in_tmpdir = _listing(tmpdir)
    proc = _score([str(big), "--out", str(tmp_path / "o.xlsx")], tmpdir)
    _wait_for(proc, tmp_path, ".o.xlsx.*.tmp")              # xlsxwriter's own temporary files, beside --out
    proc.send_signal(signal.SIGTERM)
    assert _finish(proc) == (143, "terminated\n")
    assert _listing(tmp_path) == {"o.xlsx"}
    assert (tmp_path / "o.xlsx").read_bytes() == b"previous run"
    assert _listing(tmpdir) == in_tmpdir


def test_after_sigkill_the_next_run_removes_what_the_killed_run_left(big: Path, previous: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    tmpdir, prior = previous
    before = _copy_previous(prior, tmp_path)
    proc = _score([str(big), *_options(tmp_path, OUTPUTS)], tmpdir)
    _wait_for(proc, tmp_path, ".a.jsonl.*.part")
    proc.send_signal(signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL
    left = {p.name for p in tmp_path.glob(".*")}
    assert {name.split(".")[1] for name in left} == {"o", "r", "a"}
    assert {k: v for k, v in _contents(tmp_path).items() if k not in left} == before
    # not provably stale: a live process's (pid 1), and a name that is not a run's temporary file
    alive = tmp_path / ".o.csv.1.0123456789abcdef.part"
    other = tmp_path / ".o.csv.backup.part"
    alive.write_text("x", encoding="utf-8")
    other.write_text("x", encoding="utf-8")
    status, err = _finish(_score([str(EXAMPLE_CSV), *_options(tmp_path, OUTPUTS)], tmpdir))
    assert (status, err) == (0, "")
    assert {p.name for p in tmp_path.glob(".*")} == {alive.name, other.name}
    after = _contents(tmp_path)
    for name in ("o.csv", "r.csv", "a.jsonl"):   # the same input as the previous run's
        assert after[name] == before[name]
    assert json.loads(after["s.json"])["run"] == json.loads(before["s.json"])["run"]


def test_the_summary_records_each_output_of_its_run(tmp_path: Path) -> None:
    """The outputs are moved into place summary last; the summary holds the SHA-256 of the others, so a set
    that a SIGKILL cut between two moves shows as a mismatch."""
    args = ["score", str(EXAMPLE_CSV), *_options(tmp_path, OUTPUTS), "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    first = (tmp_path / "s.json").read_bytes()
    run = json.loads(first)["run"]
    assert run["sha256"] == {role: hashlib.sha256((tmp_path / OUTPUTS[option]).read_bytes()).hexdigest()
                             for role, option in [("output", "--out"), ("rejects", "--rejects"),
                                                  ("audit", "--audit")]}
    assert len(run["id"]) == 16


@pytest.mark.parametrize(("extra", "message"), [
    (["--out", "s.csv", "--rejects", "s.csv"], "--out and --rejects name the same file (s.csv)"),
    (["--out", "s.csv", "--audit", "./s.csv"], "--out and --audit name the same file (s.csv)"),
    (["--out", "s.csv", "--summary", "sub/../s.csv"], "--out and --summary name the same file (s.csv, sub/../s.csv)"),
    (["--out", "s.csv", "--audit", "link.csv"], "--out and --audit name the same file (s.csv, link.csv)"),
    (["--out", "s.csv", "--audit", "s.rejects.csv"], "the rejects file and --audit name the same file"),
    (["--out", "a.csv", "--rejects", "r.csv", "--audit", "r.csv"], "--rejects and --audit name the same file"),
    (["--out", "in.csv"], "INPUT and --out name the same file (in.csv)"),
], ids=["same", "dot", "dotdot", "symlink", "default-rejects", "rejects-audit", "input"])
def test_two_outputs_naming_one_file_are_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 extra: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "s.csv").write_text("previous run\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to("s.csv")
    shutil.copy(EXAMPLE_CSV, tmp_path / "in.csv")
    before = _listing(tmp_path)
    for source in ("in.csv",) if "INPUT" in message else ("in.csv", "missing.csv"):   # before reading the input
        result = CliRunner().invoke(main, ["score", source, *extra, "-q"])
        assert result.exit_code == 2
        assert result.output.startswith(f"error: {message}") and result.output.count("\n") == 1, result.output
        assert result.output.endswith("; give each output its own file\n")
        assert _listing(tmp_path) == before
        assert (tmp_path / "s.csv").read_text(encoding="utf-8") == "previous run\n"


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    result = CliRunner().invoke(main, ["score", "missing.csv", "--out", "nowhere/o.csv", "-q"])
    assert (result.exit_code, result.output) == (2, "error: --out nowhere/o.csv: the folder nowhere does not exist\n")
    with pytest.raises(OutputError, match="^--audit sub: is a folder, not a file$"):
        run(Job(Path("missing.csv"), Path("o.csv"), [], audit=Path("sub")))
    assert _listing(tmp_path) == {"sub"}


def test_only_provably_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    import fcntl

    from policyengine.atomic import OutputSet, remove_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])   # a pid that is no longer alive
    dead.wait()
    target = tmp_path / "o.csv"

    def temp(pid: int, token: str, kind: str = "part") -> Path:
        return tmp_path / f".o.csv.{pid}.{token}.{kind}"

    gone = temp(dead.pid, "0" * 16)
    gone.write_text("x", encoding="utf-8")
    folder = temp(dead.pid, "1" * 16, "tmp")
    folder.mkdir()
    (folder / "tmpab12cd").write_text("x", encoding="utf-8")
    mine = temp(os.getpid(), "2" * 16)                 # this pid, but not one of this process's live files
    mine.write_text("x", encoding="utf-8")
    locked = temp(dead.pid, "3" * 16)                  # a run on another machine holds its lock
    locked.write_text("x", encoding="utf-8")
    link = temp(dead.pid, "4" * 16)
    link.symlink_to(target)
    other = tmp_path / f".p.csv.{dead.pid}.{'5' * 16}.part"
    other.write_text("x", encoding="utf-8")
    with OutputSet() as outputs, locked.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        live = outputs.path(target)
        assert sorted(remove_stale(target)) == sorted([gone, folder, mine])
        assert {p.name for p in tmp_path.iterdir()} == {locked.name, link.name, other.name, live.name}
    assert {p.name for p in tmp_path.iterdir()} == {locked.name, link.name, other.name}
