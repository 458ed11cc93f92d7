"""The run-browsing notebook executes top to bottom on a small run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline_stages import make_clip, preset_yaml

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "browse_run.ipynb"


def test_browse_run_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from pipelines.annotate import annotate

    clip = make_clip(tmp_path / "clip_n.mp4", frames=10, width=320, height=180)
    annotate([str(clip)], tmp_path / "run", preset=str(preset_yaml(tmp_path / "p.yaml",
                                                                    exports=True)),
             serial=True)
    monkeypatch.setenv("RUN_DIR", str(tmp_path / "run"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "clip_n" in text
    assert any("image/png" in o.get("data", {}) for o in outputs) or "Figure" in text
