"""Same input, same tables: two annotation runs of one clip in processes with different string
hashing (PYTHONHASHSEED) write identical rows, in identical order, in every table. Sets and
dicts keyed by strings iterate in hash order, so an order that leaks from one into a table (the
calibration `lines` list did) shows up here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.rundir import RunDir


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from factory.synth import render_clip

    return render_clip(tmp_path_factory.mktemp("clip"), seconds=1.6, seed=5, width=640,
                       height=360)


def _annotate(video: Path, out: Path, hash_seed: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "annotate", str(video), "--out",
                           str(out), "--serial", "--quiet"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _tables(out: Path) -> dict[str, list[str]]:
    run = RunDir(out)
    names = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("_")
                   and p.name != "exports")
    return {n: [json.dumps(r, sort_keys=True, default=str) for r in run.read(n).to_pylist()]
            for n in names}


def test_two_processes_write_the_same_tables(clip, tmp_path):
    _annotate(clip.video_path, tmp_path / "a", "1")
    _annotate(clip.video_path, tmp_path / "b", "3")  # 1 and 3 order this clip's lines apart
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    assert {"calibration", "detections", "tracks", "gamestate"} <= set(a)
    assert a.keys() == b.keys()
    ok = [json.loads(r) for r in a["calibration"] if json.loads(r)["status"] == "ok"]
    assert ok and any(len(r["lines"]) >= 2 for r in ok)  # there is an order to get wrong
    for name in a:
        assert a[name] == b[name], f"table {name} differs between the two runs"
