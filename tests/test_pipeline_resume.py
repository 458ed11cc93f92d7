"""A run killed with SIGKILL mid-way and resumed ends with exactly the rows of an
uninterrupted run: nothing lost, nothing duplicated (real CLI, embedded Ray)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from test_pipeline_stages import make_clip, preset_yaml

from pipelines.annotate import annotate
from pipelines.rundir import RunDir

TABLES = ("segments", "calibration", "detections", "tracks", "gamestate")


def rows(run: RunDir, name: str) -> list:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in run.read(name).to_pylist())


def cli(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(TESTS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    # A session of its own, so the kill reaches the driver and the Ray processes it started.
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "annotate", *args],
                            env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    clips = [make_clip(tmp_path / f"clip_{k}.mp4", frames=16) for k in "ab"]
    preset = preset_yaml(tmp_path / "p.yaml", calibration_config={"sleep_per_frame": 0.08},
                         detection_config={"sleep_per_frame": 0.04})
    reference = tmp_path / "reference"
    annotate([str(c) for c in clips], reference, preset=str(preset), serial=True)
    expected = {t: rows(RunDir(reference), t) for t in TABLES}

    out = tmp_path / "run"
    args = [*map(str, clips), "--out", str(out), "--preset", str(preset), "--num-cpus", "1",
            "--quiet"]
    proc = cli(args)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "_done" / "detections").rglob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed:\n{proc.stdout.read()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "_done").rglob("*.json")))
    assert not (out / "summary.json").exists() and done_before >= 2

    resumed = cli([*args, "--resume"])
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    summary = json.loads((out / "summary.json").read_text())
    assert sum(s["reused"] for s in summary["stages"].values()) >= done_before - 1
    assert {t: rows(RunDir(out), t) for t in TABLES} == expected
