"""Per-player, per-frame features of a VideoSequence: what the spotting heads and the
nearest-player baseline see of the game state (team, role, pitch position and velocity, the
ball relative to the player on the pitch and in the image).

Pitch features are in metres scaled to about [-1, 1]; where the camera is unknown (a close-up,
a failed calibration) they are 0 with their `known` flag off and the image features carry the
frame. Image distances are in units of the player's box height, so they mean the same at every
zoom.
"""

from __future__ import annotations

import numpy as np

from model.spotting.sequences import VideoSequence

HALF_LENGTH, HALF_WIDTH = 52.5, 34.0
NAMES = (
    "present", "team_left", "team_right", "team_unknown", "goalkeeper",
    "x", "y", "pitch_known", "vx", "vy",
    "ball_dx", "ball_dy", "ball_distance", "ball_pitch_known", "nearest", "second_nearest",
    "ball_vx", "ball_vy",
    "box_cx", "box_cy", "box_h", "ball_img_dx", "ball_img_dy", "ball_img_distance",
    "ball_img_known", "ball_img_speed",
)
NUM_FEATURES = len(NAMES)


def _velocity(values: np.ndarray, seq: VideoSequence) -> np.ndarray:
    """Central difference per second along the frames (one-sided at segment ends and next to
    unknown values), 0 where neither neighbour is known. values: (F, ...)."""
    t = seq.frames / seq.fps
    out = np.zeros_like(values)
    for a, b in seq.segments:
        v, tt = values[a:b], t[a:b]
        if b - a < 2:
            continue
        fwd = np.full_like(v, np.nan)
        fwd[:-1] = (v[1:] - v[:-1]) / (tt[1:] - tt[:-1]).reshape(-1, *[1] * (v.ndim - 1))
        bwd = np.full_like(v, np.nan)
        bwd[1:] = fwd[:-1]
        both = np.where(np.isnan(fwd), bwd, np.where(np.isnan(bwd), fwd, (fwd + bwd) / 2))
        out[a:b] = np.nan_to_num(both)
    return out


def ball_offsets(seq: VideoSequence) -> tuple[np.ndarray, np.ndarray]:
    """The ball seen from each player: on the pitch (F, K, 2) metres, and in the image (F, K, 2)
    in units of the player's box height from the middle of the box's bottom edge (the feet);
    NaN where the player is absent or a position is unknown. The features, the nearest-player
    baseline and the heads' slot choice all measure "near the ball" with these."""
    xy = np.where(seq.present[..., None], seq.xy, np.nan)
    box = seq.box
    h = np.maximum(box[..., 3] - box[..., 1], 1.0)
    bcx = (seq.ball_box[:, 0] + seq.ball_box[:, 2]) / 2
    bcy = (seq.ball_box[:, 1] + seq.ball_box[:, 3]) / 2
    image = np.stack([(bcx[:, None] - (box[..., 0] + box[..., 2]) / 2) / h,
                      (bcy[:, None] - box[..., 3]) / h], -1)
    return seq.ball_xy[:, None, :] - xy, np.where(seq.present[..., None], image, np.nan)


def node_features(seq: VideoSequence) -> np.ndarray:
    """(F, K, NUM_FEATURES) float32."""
    n_f, n_k = seq.present.shape
    f = np.zeros((n_f, n_k, NUM_FEATURES), np.float32)
    col = {name: i for i, name in enumerate(NAMES)}
    present = seq.present
    f[..., col["present"]] = present
    for name, value in (("team_left", 0), ("team_right", 1), ("team_unknown", -1)):
        f[..., col[name]] = (seq.team == value)[None] & present
    f[..., col["goalkeeper"]] = seq.goalkeeper[None] & present

    xy = np.where(present[..., None], seq.xy, np.nan)
    known = np.isfinite(xy).all(-1)
    f[..., col["x"]] = np.nan_to_num(xy[..., 0] / HALF_LENGTH)
    f[..., col["y"]] = np.nan_to_num(xy[..., 1] / HALF_WIDTH)
    f[..., col["pitch_known"]] = known
    with np.errstate(invalid="ignore"):
        v = _velocity(xy, seq) / 8.0  # a sprint is ~8 m/s
    f[..., col["vx"]], f[..., col["vy"]] = v[..., 0], v[..., 1]

    rel, img = ball_offsets(seq)
    ball_known = np.isfinite(rel).all(-1)
    dist = np.linalg.norm(np.nan_to_num(rel), axis=-1)
    f[..., col["ball_dx"]] = np.clip(np.nan_to_num(rel[..., 0]) / 10.0, -5, 5)
    f[..., col["ball_dy"]] = np.clip(np.nan_to_num(rel[..., 1]) / 10.0, -5, 5)
    f[..., col["ball_distance"]] = np.where(ball_known, np.minimum(dist / 10.0, 5.0), 0)
    f[..., col["ball_pitch_known"]] = ball_known
    ranked = np.argsort(np.where(ball_known, dist, np.inf), axis=1, kind="stable")
    rows = np.arange(n_f)
    for r, name in ((0, "nearest"), (1, "second_nearest")):
        if n_k > r:
            k = ranked[:, r]
            f[rows, k, col[name]] = ball_known[rows, k]
    with np.errstate(invalid="ignore"):
        bv = _velocity(seq.ball_xy.astype(np.float32), seq) / 20.0  # a hard kick is ~25 m/s
    f[..., col["ball_vx"]] = np.clip(bv[:, None, 0], -3, 3) * present
    f[..., col["ball_vy"]] = np.clip(bv[:, None, 1], -3, 3) * present

    s = float(seq.size)
    box = seq.box
    h = np.maximum(box[..., 3] - box[..., 1], 1.0)
    cx = (box[..., 0] + box[..., 2]) / 2
    f[..., col["box_cx"]] = cx / s * present
    f[..., col["box_cy"]] = (box[..., 1] + box[..., 3]) / 2 / s * present
    f[..., col["box_h"]] = h / s * present
    bcx = (seq.ball_box[:, 0] + seq.ball_box[:, 2]) / 2
    bcy = (seq.ball_box[:, 1] + seq.ball_box[:, 3]) / 2
    img_known = np.isfinite(bcx)[:, None] & present
    dx, dy = img[..., 0], img[..., 1]
    f[..., col["ball_img_dx"]] = np.where(img_known, np.clip(np.nan_to_num(dx), -5, 5), 0) / 5
    f[..., col["ball_img_dy"]] = np.where(img_known, np.clip(np.nan_to_num(dy), -5, 5), 0) / 5
    f[..., col["ball_img_distance"]] = np.where(
        img_known, np.minimum(np.hypot(np.nan_to_num(dx), np.nan_to_num(dy)), 5), 0) / 5
    f[..., col["ball_img_known"]] = img_known
    with np.errstate(invalid="ignore"):
        speed = np.linalg.norm(_velocity(np.stack([bcx, bcy], 1).astype(np.float32), seq), axis=1)
    f[..., col["ball_img_speed"]] = np.minimum(speed / s, 3)[:, None] * present
    return f
