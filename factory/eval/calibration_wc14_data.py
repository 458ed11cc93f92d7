"""The WC14 field-registration set (../shared/data/wc14) in the SoccerNet pitch frame.

The dataset's homographies map image pixels to a 115 x 74 yd template with its origin at a
corner and y = 74 on the near touchline; the pitch is drawn at 105 x 68 m, so metres are
x * 105/115 - 52.5 and y * 68/74 - 34 (y = +34 is then the main-camera touchline, as in
SoccerNet).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Yards (template corner origin) -> SoccerNet metres (centre origin).
YARDS_TO_SOCCERNET = np.array([[105.0 / 115.0, 0.0, -52.5],
                               [0.0, 68.0 / 74.0, -34.0],
                               [0.0, 0.0, 1.0]])


@dataclass
class WC14Frame:
    split: str
    index: int
    image_path: Path
    homography: np.ndarray  # image pixels -> SoccerNet pitch metres
    grass_path: Path


def load_wc14(root: str | Path, splits: tuple[str, ...] = ("train", "val")) -> list[WC14Frame]:
    """Every frame of the given splits, sorted by split and number."""
    root = Path(root)
    frames = []
    for split in splits:
        folder = root / split
        if not folder.is_dir():
            raise FileNotFoundError(f"WC14 split folder {folder} not found")
        for hpath in sorted((folder / "homographyMatrix").glob("*.homographyMatrix"),
                            key=lambda p: int(p.stem)):
            n = int(hpath.stem)
            h = YARDS_TO_SOCCERNET @ np.loadtxt(hpath)
            frames.append(WC14Frame(split, n, folder / "jpg" / f"{n}.jpg", h / h[2, 2],
                                    folder / "grass" / f"{n}_grass_gt.mat"))
    return frames
