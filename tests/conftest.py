"""Shared test setup: one torch thread (2-core machines), the real-data path option."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", "/tmp/soccerfactory-yolo")

import pytest  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a dependency, but schemas tests run without
    pass


def pytest_addoption(parser):
    parser.addoption("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared"
                                           / "data"),
                     help="folder with the real development data (default ../shared/data)")


@pytest.fixture(scope="session")
def data_dir(request) -> Path:
    """The real data folder; tests that need it skip with the reason where it is absent."""
    path = Path(request.config.getoption("--data")).resolve()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} not found (pass --data DIR)")
    return path
