"""Run-level behaviour: kill then resume, DDP on two CPU processes, user-facing errors."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import trainer_cmd, trainer_env
from .helpers import check_schema, events, of


def _wait_for_epochs(run: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run / "events.jsonl").is_file() and len(of(events(run), "epoch")) >= n:
            return
        assert proc.poll() is None, "trainer exited before the kill"
        time.sleep(0.2)
    raise AssertionError("no epoch event in time")


def test_sigkill_then_resume_finishes(classify_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "resume"
    args = ["--data", str(classify_data), "--out", str(run), "--workers", "0", "--imgsz", "64", "--batch", "8"]
    proc = subprocess.Popen(
        trainer_cmd("classify", *args, "--epochs", "6"),
        env=trainer_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_epochs(run, 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up: what a crash or power cut does
    proc.wait()
    done_before = len(of(events(run), "epoch"))
    assert not of(events(run), "end")

    r = subprocess.run(
        trainer_cmd("classify", "--out", str(run), "--resume", "--workers", "0"),
        env=trainer_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    evts = events(run)
    check_schema(evts, "classify")
    starts = of(evts, "start")
    assert len(starts) == 2 and starts[1]["resumedFrom"] >= 2
    numbers = [e["epoch"] for e in of(evts, "epoch")]
    assert numbers[-1] == 6 and numbers[done_before:] == list(range(starts[1]["resumedFrom"], 7))
    assert len(of(evts, "end")) == 1 and (run / "model.onnx").is_file()


def test_sigterm_is_an_interrupted_event(classify_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "term"
    proc = subprocess.Popen(
        trainer_cmd(
            "classify",
            "--data",
            str(classify_data),
            "--out",
            str(run),
            "--workers",
            "0",
            "--imgsz",
            "64",
            "--epochs",
            "50",
        ),
        env=trainer_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _wait_for_epochs(run, 1, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    last = events(run)[-1]
    assert last["event"] == "error" and last["kind"] == "interrupted" and "--resume" in last["message"]


def test_ddp_two_cpu_processes_make_one_run(classify_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    r = subprocess.run(
        trainer_cmd(
            "classify",
            "--data",
            str(classify_data),
            "--out",
            str(run),
            "--workers",
            "0",
            "--imgsz",
            "64",
            "--batch",
            "4",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--nproc",
            "2",
        ),
        env=trainer_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    evts = events(run)
    check_schema(evts, "classify")
    assert len(of(evts, "start")) == 1 and of(evts, "start")[0]["device"]["worldSize"] == 2
    assert [e["epoch"] for e in of(evts, "epoch")] == [1, 2]
    assert len(of(evts, "end")) == 1 and (run / "model.onnx").is_file()


@pytest.mark.parametrize(
    ("args", "code", "kind", "needle"),
    [
        (["classify", "--data", "{tmp}/nowhere"], 1, "dataset", "dataset folder not found"),
        (["detect", "--data", "{tmp}/nowhere/data.yaml"], 1, "dataset", "data.yaml not found"),
        (["classify", "--data", "{classify}", "--model", "vgg"], 1, "failed", "expected one of cnn"),
        (["classify", "--data", "{classify}", "--device", "3"], 2, "failed", "CUDA device 3 not found"),
        (["classify", "--out", "{tmp}/never", "--resume"], 1, "dataset", "nothing to resume"),
    ],
)
def test_errors_are_one_line_and_an_event(
    args: list[str], code: int, kind: str, needle: str, classify_data: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    argv = [a.format(tmp=tmp_path, classify=classify_data) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(run)]
    else:
        run = Path(argv[argv.index("--out") + 1])
    r = subprocess.run(trainer_cmd(*argv), env=trainer_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr
    err = events(run)[-1]
    assert err["event"] == "error" and err["kind"] == kind and needle in err["message"]
