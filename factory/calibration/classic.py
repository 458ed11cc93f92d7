"""Weights-free field evidence: grass and line masks, then line labelling by camera hypotheses.

Detected line pixels carry no class by themselves. A camera hypothesis (the previous frame's
camera when tracking, otherwise the best of a prior-grid search scored against the image)
projects the template; every line pixel takes the class of the nearest projected template line
within a shrinking gate, and the PnL solver refits the camera on those labels (an ICP loop).
The labels of the last round are the evidence.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from factory.calibration import search
from factory.calibration.calibrator import MIN_GRASS_ON_PITCH, MIN_TEMPLATE_SUPPORT
from factory.calibration.evidence import FieldEvidence
from factory.calibration.params import vector_to_camera
from factory.calibration.solver import Bounds, Observations, refine, refine_principal_point
from factory.calibration.surface import far_line_pixels, surface_masks
from factory.geometry.camera import Camera
from schemas.pitch import GROUND_LINE_CLASSES, HALF_LENGTH, HALF_WIDTH, sample_line

_LABEL_SAMPLES = [sample_line(c, 0.5, 0.25) for c in GROUND_LINE_CLASSES]
_LABEL_POINTS = np.concatenate(_LABEL_SAMPLES)
_LABEL_OWNER = np.concatenate([np.full(len(p), k) for k, p in enumerate(_LABEL_SAMPLES)])
_SUPPORT_POINTS = np.concatenate([sample_line(c, 1.0, 0.5) for c in GROUND_LINE_CLASSES])


# Frame to frame, the coarse gate refits pan, tilt, roll and focal only (a broadcast camera
# turns and zooms on a fixed mount; 4 parameters cannot wander off on the few lines inside a
# wide gate), the fine gate refits everything (a fixed mount would carry the cold start's
# position error through the shot: Acc@5 0.90 instead of 0.93 on a synthetic clip).
TRACK_FREE: tuple[tuple[int, ...] | None, ...] = ((0, 1, 2, 6), None)


@dataclass
class ClassicConfig:
    work_width: int = 640  # analysis resolution (pixels wide)
    search_width: int = 320  # cold-start search resolution
    max_points: int = 250  # line pixels used by the solver
    # ... and by the last refinement of a cold start (one round at the finest gate): more
    # pixels average the line's width and the mask's pixel steps out of the camera.
    final_points: int = 1000
    min_grass_fraction: float = 0.25  # below: not a pitch view
    # Green pixels themselves (the surface mask fills holes, so a close-up's face or shirt in
    # front of a green backdrop counts as surface): WC14 pitch views have >= 0.35 of the
    # frame green and >= 0.96 of their surface green (players and lines are small holes).
    min_green_fraction: float = 0.25
    min_green_share_of_surface: float = 0.8
    min_line_pixels: int = 150  # at work resolution
    # A player standing in the frame taller than this share of its height is a close-up, not
    # a pitch view, even with lines behind him (low pitch-side cameras): close-up frames
    # 0.37-0.72, WC14 <= 0.10, so neither a cold solve nor a camera is tried.
    max_figure_height: float = 0.3
    gates_px: tuple[float, ...] = (24.0, 12.0, 6.0, 4.0)  # ICP gates at work resolution
    track_gates_px: tuple[float, ...] = (8.0, 4.0)  # from the previous frame's camera
    track_max_nfev: int = 12
    # Search hypotheses refined on a cold start: 8 often missed the right basin on steep
    # penalty-area views of WC14 (the right camera scored higher but was not among them).
    candidates: int = 16
    refined_pool: int = 48  # grid hypotheses refined by the local search, best `candidates` kept
    support_gate_px: float = 4.0  # template_support gate at work resolution
    # A cold start's last step frees the principal point with this prior (image widths; 0:
    # the image centre), given at least principal_point_classes line classes; tracking then
    # holds it (solver.refine_principal_point).
    principal_point_prior: float = 0.05
    principal_point_classes: int = 4
    # Cold starts also search goal-end cameras (search.END_PRIOR) when the best main-camera
    # candidate fails the status checks or scores below this (share x support x grass; a
    # wrong main camera on a synthetic tactical view scores 0.07, the right end camera 0.70).
    end_search_below: float = 0.25
    # ... and takes an end camera only if it passes the status checks and scores this many
    # times the best main camera: right end cameras on synthetic frames score 8-80 times
    # the main one, wrong ones (a strongly distorted wide view) 1.1 times; on WC14 train
    # (no end cameras) the end search ran once and lost.
    end_margin: float = 2.0


def _sample_points(mask: np.ndarray | tuple[np.ndarray, np.ndarray], n: int,
                   seed: int = 0) -> np.ndarray:
    """At most n line pixels of a mask (or of its (ys, xs), computed once per frame)."""
    ys, xs = np.nonzero(mask) if isinstance(mask, np.ndarray) else mask
    if len(xs) > n:
        # An even spread over the raster order: deterministic and cheaper than a random draw.
        idx = np.linspace(0, len(xs) - 1, n).astype(np.int64)
        xs, ys = xs[idx], ys[idx]
    return np.column_stack([xs, ys]).astype(np.float64)


def label_points(camera: Camera, points: np.ndarray, gate_px: float) -> tuple[np.ndarray, list[str]]:
    """Each point's nearest projected ground-line class within the gate: (index, class).
    The tree holds every template point projected near the image, also those beyond the gate
    of it, though they are never a nearest within the gate: template samples coincide where
    lines meet, and a tree of fewer points breaks such ties otherwise (with the points within
    the gate of the image only, 2 of 209 WC14 frames ended in another minimum and failed)."""
    w, h = camera.image_width, camera.image_height
    uv = camera.project(_LABEL_POINTS)  # every class in one projection
    ok = np.isfinite(uv).all(axis=1) & (uv[:, 0] > -w) & (uv[:, 0] < 2 * w) & (
        uv[:, 1] > -h) & (uv[:, 1] < 2 * h)
    if ok.sum() < 2:
        return np.zeros(0, np.int64), []
    owners = _LABEL_OWNER[ok]
    dist, nearest = cKDTree(uv[ok]).query(points, distance_upper_bound=gate_px)
    idx = np.nonzero(np.isfinite(dist))[0]
    return idx, [GROUND_LINE_CLASSES[k] for k in owners[nearest[idx]]]


def icp(camera: Camera, points: np.ndarray, gates: tuple[float, ...],
        bounds: Bounds, max_nfev: int = 25,
        free: tuple[tuple[int, ...] | None, ...] | None = None, fast: bool = False
        ) -> tuple[Camera, np.ndarray, list[str], float]:
    """Alternate labelling and refitting; returns camera, labelled indices, classes and the
    share of points explained within the last gate. free: per gate, the parameters refitted
    (None: all)."""
    idx, classes = np.zeros(0, np.int64), []
    for k, gate in enumerate(gates):
        idx, classes = label_points(camera, points, gate)
        if len(idx) < 12:
            return camera, idx, classes, 0.0
        obs = Observations(line_classes=classes, line_uv=points[idx])
        new = refine(camera, obs, scale_px=max(1.0, gate / 4), max_nfev=max_nfev,
                     free=free[min(k, len(free) - 1)] if free else None, fast=fast)
        if not bounds.accept(new):
            return camera, idx, classes, 0.0
        camera = new
    idx, classes = label_points(camera, points, gates[-1])
    return camera, idx, classes, len(idx) / max(len(points), 1)


@functools.lru_cache(maxsize=8)
def _gate_offsets(gate: float) -> np.ndarray:
    """(dy, dx) offsets whose distance is <= gate in OpenCV's 3x3 chamfer metric
    (distanceTransform DIST_L2 mask 3: 0.955 per step, 1.3693 per diagonal step, 16-bit fixed
    point, float32 result): a pixel's distance transform of a mask is <= gate exactly when
    one of these offsets holds a mask pixel."""
    r = int(np.ceil(gate / 0.955))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    lo = np.minimum(np.abs(dx), np.abs(dy))
    hi = np.maximum(np.abs(dx), np.abs(dy))
    fixed = lo * round(1.3693 * 65536) + (hi - lo) * round(0.955 * 65536)
    near = fixed.astype(np.float32) * np.float32(1.0 / 65536) <= gate
    return np.column_stack([dy[near], dx[near]])


def near_lines(lines: np.ndarray, ij: np.ndarray, gate: float) -> np.ndarray:
    """Per pixel (x, y) of ij, whether a line pixel lies within `gate` (the chamfer distance
    transform of the line mask thresholded at the gate, looked up at a few hundred pixels
    instead of computed over the frame: 1.4 ms per 640x360 frame)."""
    h, w = lines.shape
    off = _gate_offsets(float(gate))
    y = ij[:, 1, None] + off[:, 0]
    x = ij[:, 0, None] + off[:, 1]
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    return ((lines[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)] > 0) & inside).any(axis=1)


def template_support(camera: Camera, lines: np.ndarray, grass: np.ndarray, gate: float) -> float:
    """Share of the visible projected template (on the grass) lying within `gate` pixels of
    a detected line pixel (lines: the line mask)."""
    uv = camera.project(_SUPPORT_POINTS)
    h, w = lines.shape
    ok = np.isfinite(uv).all(axis=1)
    uv = uv[ok]
    ok = (uv[:, 0] >= 0) & (uv[:, 0] < w - 1) & (uv[:, 1] >= 0) & (uv[:, 1] < h - 1)
    ij = uv[ok].astype(np.int32)
    on_grass = grass[ij[:, 1], ij[:, 0]] > 0
    if on_grass.sum() < 10:
        return 0.0
    return float(near_lines(lines, ij[on_grass], gate).mean())


GRASS_MARGIN_M = 8.0  # run-off grass around the lines (touchlines ~5 m, goal ends more)


def grass_on_pitch(camera: Camera, grass: np.ndarray, step: int = 16) -> float:
    """Share of the grass pixels (a grid of them) that the camera puts on the pitch plane in
    front of it and within GRASS_MARGIN_M of the template. The image -> pitch direction of
    the check: a camera that explains a few lines with a sliver of the template (a long zoom
    on the near touchline, say) sends the rest of the visible grass past the horizon or far
    off the pitch. template_support alone cannot see that (few samples, all on lines)."""
    h, w = grass.shape
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    on = grass[ys, xs] > 0
    if on.sum() < 10:
        return 0.0
    uv = np.column_stack([xs[on], ys[on], np.ones(on.sum())]).astype(np.float64)
    q = uv @ camera.image_to_pitch_homography().T
    with np.errstate(divide="ignore", invalid="ignore"):
        ground = np.column_stack([q[:, :2] / q[:, 2:3], np.zeros(len(q))])
    # In front of the camera: the ground point projects back to a finite pixel.
    front = np.isfinite(camera.project(ground, distort=False)).all(axis=1)
    inside = (np.abs(ground[:, 0]) <= HALF_LENGTH + GRASS_MARGIN_M) & (
        np.abs(ground[:, 1]) <= HALF_WIDTH + GRASS_MARGIN_M)
    return float((front & inside).mean())


class ClassicBackend:
    """Colour statistics + line pixels + hypothesis search; no learned weights."""

    name = "classic"

    def __init__(self, config: ClassicConfig | None = None, bounds: Bounds | None = None,
                 prior: search.CameraPrior | None = None,
                 end_prior: search.CameraPrior | None = search.END_PRIOR):
        """end_prior: goal-end cameras searched when the best main-camera candidate fails
        the status checks or scores low (ClassicConfig.end_search_below; None: never)."""
        self.config = config or ClassicConfig()
        self.bounds = bounds or Bounds()
        self.prior = prior or search.CameraPrior()
        self.end_prior = end_prior
        self._grid: dict[tuple[int, search.CameraPrior], np.ndarray] = {}
        self._template = search.template_points(3.0, 1.5)

    def detect(self, bgr: np.ndarray, previous: Camera | None = None) -> FieldEvidence:
        cfg = self.config
        height, width = bgr.shape[:2]
        scale = cfg.work_width / width
        small = cv2.resize(bgr, (cfg.work_width, int(round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        ww, wh = small.shape[1], small.shape[0]
        masks = surface_masks(small)
        ev = FieldEvidence(width, height, False, grass_fraction=masks.grass_fraction)
        if masks.grass_fraction < cfg.min_grass_fraction or (
                masks.green_fraction < cfg.min_green_fraction) or (
                masks.green_fraction < cfg.min_green_share_of_surface * masks.grass_fraction) or (
                len(masks.line_xy) < cfg.min_line_pixels) or (
                masks.figure_height > cfg.max_figure_height):
            return ev
        ev.is_pitch_view = True
        line_pixels = (masks.line_xy[:, 1], masks.line_xy[:, 0])
        points = _sample_points(line_pixels, cfg.max_points)
        gates = tuple(g * ww / 640 for g in cfg.gates_px)
        support_gate = cfg.support_gate_px * ww / 640
        best = None
        if previous is not None:
            cam, idx, classes, share = icp(previous.rescaled(ww, wh), points,
                                           tuple(g * ww / 640 for g in cfg.track_gates_px),
                                           self.bounds, cfg.track_max_nfev, TRACK_FREE,
                                           fast=True)
            if share >= 0.5:
                best = (share, cam, idx, classes)
        if best is None:
            # A cold start also fits the faint far touchline the line mask missed
            # (surface.far_line_pixels; ~5 ms, so not per tracked frame): with it, the far
            # pitch no longer rests on extrapolation (WC14 IoU_whole 0.892 -> 0.900). The
            # search and the support check keep the plain mask (with the extra pixels in the
            # search a few WC14 frames lost their right hypothesis, 0.99 -> 0.84), and a line
            # the mask found already is not added twice (that moved synthetic Acc@5 0.952 ->
            # 0.938 through the cold starts).
            far = far_line_pixels(small, masks.grass)
            near = cv2.dilate(masks.lines, np.ones((5, 5), np.uint8))
            if len(far) and np.mean(near[far[:, 1], far[:, 0]] > 0) < 0.5:
                both = np.unique(np.vstack([masks.line_xy, far])[:, ::-1], axis=0)
                line_pixels = (both[:, 0], both[:, 1])
                points = _sample_points(line_pixels, cfg.max_points)
            scored, best = self._candidates(self._search(masks, self.prior), points, gates,
                                            masks, support_gate, self._plausible)
            if self.end_prior is not None and (
                    best is None or best[0] < cfg.end_search_below
                    or not self._passes(best, masks, support_gate)):
                # No main-camera hypothesis the status would accept, or only one that explains
                # little of the image: try cameras at a goal end (high behind a goal, a
                # tactical camera down the length of the pitch). Only then, so the frames a
                # main camera explains keep their camera.
                more, end_best = self._candidates(self._search(masks, self.end_prior), points,
                                                  gates, masks, support_gate, self._plausible_end)
                if end_best is not None and self._passes(end_best, masks, support_gate) and (
                        best is None or end_best[0] > cfg.end_margin * best[0]):
                    scored, best = scored + more, end_best
            if best is None:
                return ev
            best = best[1]
            ev.candidates = sorted(scored, key=lambda sc: -sc[0])
            dense = _sample_points(line_pixels, cfg.final_points)
            cam, idx, classes, share = icp(best[1], dense, gates[-1:], self.bounds)
            if share > 0.0:
                if cfg.principal_point_prior > 0 and (
                        len(set(classes)) >= cfg.principal_point_classes):
                    freed = refine_principal_point(
                        cam, Observations(line_classes=classes, line_uv=dense[idx]),
                        cfg.principal_point_prior, scale_px=max(1.0, gates[-1] / 4))
                    cam = freed if self.bounds.accept(freed) else cam
                points, best = dense, (share, cam, idx, classes)
        share, cam, idx, classes = best
        if share <= 0.0 or len(idx) < 12:
            return ev
        inv = width / ww
        ev.support = template_support(cam, masks.support_lines, masks.grass, support_gate)
        ev.grass_on_pitch = grass_on_pitch(cam, masks.grass)
        ev.camera_hint = cam.rescaled(width, height)
        ev.hint_is_fit = True
        cls_arr = np.asarray(classes)
        for cls in sorted(set(classes)):  # a fixed order: the solver and the table follow it
            sel = idx[cls_arr == cls]
            ev.lines[cls] = (points[sel] * inv, float(share))
        return ev

    def image_checks(self, bgr: np.ndarray, cameras: list[Camera]) -> list[tuple[float, float]]:
        """(template support, grass on the pitch) of any cameras on an image, the status
        checks' two inputs (evaluations, tests, diagnostics)."""
        cfg = self.config
        scale = cfg.work_width / bgr.shape[1]
        small = cv2.resize(bgr, (cfg.work_width, int(round(bgr.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        masks = surface_masks(small)
        gate = cfg.support_gate_px * small.shape[1] / 640
        out = []
        for camera in cameras:
            cam = camera.rescaled(small.shape[1], small.shape[0])
            out.append((template_support(cam, masks.support_lines, masks.grass, gate),
                        grass_on_pitch(cam, masks.grass)))
        return out

    def _candidates(self, cams: list[Camera], points, gates, masks, support_gate, plausible
                    ) -> tuple[list[tuple[float, Camera]], tuple | None]:
        """ICP from each hypothesis; (score, camera) of the plausible ones and the best as
        (score, (share, camera, labelled indices, classes)), None without any."""
        best, scored = None, []
        for cam in cams:
            result = icp(cam, points, gates, self.bounds)
            if not plausible(result[0]):
                continue
            # Explaining the line pixels is not enough (a wide view explains everything):
            # the projected template must also be found in the image, and the grass must
            # lie on the pitch through the camera (the status checks both; scoring them
            # here picks the candidate that passes: WC14 mean IoU_part of the picked
            # candidates 0.947 -> 0.956).
            score = result[3] * template_support(result[0], masks.lines, masks.grass, support_gate) * (
                grass_on_pitch(result[0], masks.grass))
            scored.append((float(score), result[0]))
            if best is None or score > best[0]:
                best = (float(score), (result[3], *result[:3]))
        return scored, best

    def _passes(self, best: tuple | None, masks, support_gate: float) -> bool:
        """Whether the picked candidate would pass the status's support and grass checks."""
        if best is None:
            return False
        cam = best[1][1]
        return (template_support(cam, masks.support_lines, masks.grass, support_gate)
                >= MIN_TEMPLATE_SUPPORT and grass_on_pitch(cam, masks.grass) >= MIN_GRASS_ON_PITCH)

    def _plausible_end(self, camera: Camera) -> bool:
        """A camera at a goal end (END_PRIOR's side): behind the goal line, off the pitch's
        long axis by less than a penalty area's width beyond the touchlines."""
        x, y, z = camera.position_meters
        return (self.bounds.accept(camera) and -200.0 < x < -(HALF_LENGTH + 2.0)
                and abs(y) < HALF_WIDTH + 20.0 and 4.0 < -z < 80.0)

    def _plausible(self, camera: Camera) -> bool:
        """The prior's side of the pitch: a main broadcast camera stands outside the
        touchline it films from (this also removes the point-mirrored solution)."""
        x, y, z = camera.position_meters
        return (self.bounds.accept(camera) and HALF_WIDTH + 2.0 < y < 160.0 and abs(x) < 70.0
                and 4.0 < -z < 60.0)

    def _search(self, masks, prior: search.CameraPrior) -> list[Camera]:
        cfg = self.config
        sw = cfg.search_width
        sh = int(round(masks.lines.shape[0] * sw / masks.lines.shape[1]))
        lines = cv2.resize(masks.lines, (sw, sh), interpolation=cv2.INTER_AREA)
        lines = (lines > 40).astype(np.uint8) * 255
        grass = cv2.resize(masks.grass, (sw, sh), interpolation=cv2.INTER_NEAREST)
        if (sw, prior) not in self._grid:
            self._grid[sw, prior] = search.prior_grid(prior, sw)
        hyp = self._grid[sw, prior]
        dt = cv2.distanceTransform(255 - lines, cv2.DIST_L2, 3)
        pts = _sample_points(lines, 120, seed=1)

        def cost(rows: np.ndarray) -> np.ndarray:
            return search.score_hypotheses(rows, pts, dt, grass, self._template, sw, sh,
                                           tau_px=8.0, tau_m=3.0)

        # The local search is cheap next to an ICP run: refine a wider pool, keep the best.
        pool = hyp[search.best_hypotheses(cost(hyp), hyp, cfg.refined_pool)]
        pool, pool_cost = search.refine_hypotheses(pool, cost)
        best = pool[search.best_hypotheses(pool_cost, pool, cfg.candidates)]
        ww, wh = masks.lines.shape[1], masks.lines.shape[0]
        return [vector_to_camera(np.r_[v[:6], np.log(v[6] * ww / sw)], ww, wh) for v in best]
