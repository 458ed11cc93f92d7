"""Side-by-side of a real WC14 broadcast frame and a synthetic frame through the same camera
(the camera recovered from the frame's ground-truth homography), for judging realism.

    .venv/bin/python -m factory.synth.compare --image 5 --out docs/synth_vs_wc14.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from factory.geometry.camera import Camera
from factory.synth.clip import Scene
from factory.synth.config import make_config

# WC14 template: yards, origin at a corner, y = 74 on the main-camera touchline.
YARDS_TO_SOCCERNET = np.array([[105 / 115, 0, -52.5], [0, 68 / 74, -34], [0, 0, 1]])


def wc14_camera(data: Path, split: str, image: int, width: int, height: int) -> Camera:
    h = np.loadtxt(data / "wc14" / split / "homographyMatrix" / f"{image}.homographyMatrix")
    cam = Camera.from_homography(YARDS_TO_SOCCERNET @ h, 1280, 720)
    if cam is None:
        raise ValueError(f"wc14 {split}/{image}: homography gives no camera")
    return cam.rescaled(width, height)


def busiest_frame(scene: Scene, cam: Camera) -> int:
    """The frame of the clip with the most people inside this camera's view."""
    best, best_n = 0, -1
    for f in range(0, scene.num_frames, 5):
        pts = np.column_stack([scene.match.positions[f], np.zeros(len(scene.match.people))])
        uv = cam.project(pts)
        n = int((np.isfinite(uv).all(1) & (uv[:, 0] > 0) & (uv[:, 0] < cam.image_width)
                 & (uv[:, 1] > 0) & (uv[:, 1] < cam.image_height)).sum())
        if n > best_n:
            best, best_n = f, n
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--split", default="train")
    parser.add_argument("--image", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--preset", default="broadcast")
    parser.add_argument("--out", default="docs/synth_vs_wc14.jpg")
    args = parser.parse_args(argv)
    real = cv2.imread(str(args.data / "wc14" / args.split / "jpg" / f"{args.image}.jpg"))
    if real is None:
        raise SystemExit(f"error: no WC14 image {args.split}/{args.image} under {args.data}")
    h, w = real.shape[:2]
    cfg = make_config(args.preset, seconds=20.0, width=w, height=h, occlusion=0.6)
    scene = Scene(cfg, args.seed)
    cam = wc14_camera(args.data, args.split, args.image, w, h)
    f = busiest_frame(scene, cam)
    synth = scene.renderer.render(cam, f, None).image
    gap = np.full((h, 16, 3), 255, np.uint8)
    pair = np.hstack([real, gap, synth])
    for text, x in (("real: WC14 " + f"{args.split}/{args.image}.jpg", 20),
                    (f"synthetic: same camera, seed {args.seed}, frame {f}", w + 36)):
        cv2.putText(pair, text, (x, h - 24), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 5, cv2.LINE_AA)
        cv2.putText(pair, text, (x, h - 24), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2, cv2.LINE_AA)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), pair, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{out}: real {args.split}/{args.image} beside synthetic frame {f} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
