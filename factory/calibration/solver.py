"""PnL camera solver: the full SoccerNet camera from labelled points and line points.

Residuals are point reprojection errors (pixels) and distances of detected line points to
their template class projected through the camera (pixels). scipy's least_squares with a
robust loss refines (pan, tilt, roll, position, log focal[, k1]); observations whose residual
stays large are dropped and the fit repeated (RANSAC-style trimming), and the result must pass
sanity bounds or the frame is failed rather than given an absurd camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from factory.calibration.params import batch_rotations, camera_to_vector, vector_to_camera
from factory.geometry.camera import Camera
from schemas.pitch import CIRCLES, KEYPOINTS_3D, STRAIGHT_LINE_EXTREMITIES, sample_line


@dataclass
class Observations:
    """What the evidence says, in pixels of the solved image."""

    keypoint_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoint_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    line_classes: list[str] = field(default_factory=list)  # one class per line point
    line_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def __len__(self) -> int:
        return len(self.keypoint_ids) + len(self.line_classes)


@dataclass(frozen=True)
class Bounds:
    """Sanity bounds of a broadcast camera; focal relative to the image width."""

    focal_over_width: tuple[float, float] = (0.3, 12.0)
    height_m: tuple[float, float] = (2.0, 80.0)  # -Z
    max_distance_m: float = 250.0  # from the centre mark, on the ground
    max_roll_degrees: float = 15.0

    def accept(self, camera: Camera) -> bool:
        f = camera.x_focal_length / camera.image_width
        x, y, z = camera.position_meters
        return (self.focal_over_width[0] <= f <= self.focal_over_width[1]
                and self.height_m[0] <= -z <= self.height_m[1]
                and np.hypot(x, y) <= self.max_distance_m
                and abs(camera.roll_degrees) <= self.max_roll_degrees
                # No camera hangs over the playing area (it would see the pitch from above).
                and not (abs(x) < 52.5 and abs(y) < 34.0)
                and camera.tilt_degrees < 90.0)


_CIRCLE_SAMPLES = {c: sample_line(c, circle_step=0.5) for c in CIRCLES}


_DEG = math.pi / 180.0


def _rotation_blocks(pan: float, tilt: float, roll: float) -> tuple[np.ndarray, np.ndarray]:
    """W = Rz(pan) Rx(tilt) Rz(roll) (batch_rotations' R is its transpose) and its
    derivatives per degree of pan, tilt and roll, side by side: a = [W | dW/dpan | dW/dtilt |
    dW/droll] (3 x 12) and b, the same blocks transposed. A row of camera-relative world
    points times a gives the camera frame point and its derivatives (pc = R rel = rel W); a
    row of camera rays times b gives the world ray and its derivatives (ray = W v). Written
    out with scalars: the solver calls this once per evaluation."""
    p, t, r = math.radians(pan), math.radians(tilt), math.radians(roll)
    cp, sp, ct, st = math.cos(p), math.sin(p), math.cos(t), math.sin(t)
    cr, sr = math.cos(r), math.sin(r)
    a = np.array([
        [cp * cr - sp * ct * sr, -cp * sr - sp * ct * cr, sp * st,
         -sp * cr - cp * ct * sr, sp * sr - cp * ct * cr, cp * st,
         sp * st * sr, sp * st * cr, sp * ct,
         -cp * sr - sp * ct * cr, -cp * cr + sp * ct * sr, 0.0],
        [sp * cr + cp * ct * sr, -sp * sr + cp * ct * cr, -cp * st,
         cp * cr - sp * ct * sr, -cp * sr - sp * ct * cr, sp * st,
         -cp * st * sr, -cp * st * cr, -cp * ct,
         -sp * sr + cp * ct * cr, -sp * cr - cp * ct * sr, 0.0],
        [st * sr, st * cr, ct, 0.0, 0.0, 0.0, ct * sr, ct * cr, -st, st * cr, -st * sr, 0.0]])
    a[:, 3:] *= _DEG
    return a, a.reshape(3, 4, 3).transpose(2, 1, 0).reshape(3, 12)


def _nearest_distance(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    poly = poly[np.isfinite(poly).all(axis=1)]
    if len(poly) == 0:
        return np.full(len(pts), 1e3)
    if len(poly) == 1:
        return np.linalg.norm(pts - poly[0], axis=1)
    # Distance to the segments (not the vertices), so a sampled curve gives exact zeros.
    a, ab = poly[:-1], np.diff(poly, axis=0)
    len2 = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    t = np.clip(((pts[:, None, :] - a[None]) * ab[None]).sum(axis=2) / len2, 0.0, 1.0)
    d = pts[:, None, :] - (a[None] + t[..., None] * ab[None])
    return np.sqrt((d ** 2).sum(axis=2).min(axis=1))


def residuals(camera: Camera, obs: Observations) -> np.ndarray:
    """Per keypoint its pixel distance, per line point its distance to its class (the
    solver's own line residuals: straight lines analytically, circles by angle)."""
    parts = []
    if len(obs.keypoint_ids):
        proj = camera.project(KEYPOINTS_3D[obs.keypoint_ids])
        parts.append(np.nan_to_num(np.linalg.norm(proj - obs.keypoint_uv, axis=1), nan=1e3))
    if obs.line_classes:
        lines = Observations(line_classes=obs.line_classes, line_uv=obs.line_uv)
        curved = camera.has_distortion  # the solver's cameras distort by k1 at most
        fun = _Residuals(lines, camera.image_width, camera.image_height, curved,
                         camera.principal_point)
        parts.append(fun(camera_to_vector(camera, with_k1=curved)))
    return np.concatenate(parts) if parts else np.zeros(0)


class _Residuals:
    """Residual vector of a parameter vector, vectorised over all observations: every
    template point the observations need is projected in one matrix product (the solver calls
    this thousands of times per frame, so no Camera objects are built here)."""

    def __init__(self, obs: Observations, width: int, height: int, curved: bool,
                 principal_point: np.ndarray | None = None):
        self.kp3 = KEYPOINTS_3D[obs.keypoint_ids]
        self.kp_uv = obs.keypoint_uv
        classes = np.asarray(obs.line_classes)
        self.uv = obs.line_uv
        pts3, self.straight, self.curves, self.circles = [], [], [], []
        n = len(self.kp3)
        for cls in sorted(set(obs.line_classes)):
            idx = np.nonzero(classes == cls)[0]
            if cls in STRAIGHT_LINE_EXTREMITIES and not curved:
                self.straight.append((idx, n))
                pts3.append(np.array(STRAIGHT_LINE_EXTREMITIES[cls]))
                n += 2
            elif cls in CIRCLES and not curved:
                self.circles.append((idx, CIRCLES[cls]))
            else:
                poly = _CIRCLE_SAMPLES[cls] if cls in CIRCLES else sample_line(cls, 1.0)
                self.curves.append((idx, n, n + len(poly)))
                pts3.append(poly)
                n += len(poly)
        self.points3 = np.concatenate([self.kp3.reshape(-1, 3)] + pts3) if pts3 else self.kp3
        if self.straight:
            self.s_idx = np.concatenate([i for i, _ in self.straight])
            self.s_a = np.concatenate([np.full(len(i), a) for i, a in self.straight])
        if self.circles:
            # Every circle point with its own circle's centre, radius and arc (one pass over
            # all circle classes: the residuals are called hundreds of times per frame).
            self.c_idx = np.concatenate([i for i, _ in self.circles])
            per = [np.repeat([[c.cx, c.cy, c.radius, c.start_deg, c.end_deg]], len(i), axis=0)
                   for i, c in self.circles]
            self.c_cx, self.c_cy, self.c_r, self.c_start, self.c_end = np.concatenate(per).T
            self.c_uv1 = np.column_stack([self.uv[self.c_idx], np.ones(len(self.c_idx))])
            # For value_and_jacobian: centres, arcs (and c_p0, pixels relative to the
            # principal point, set by move_principal_point).
            self.c_centre = np.column_stack([self.c_cx, self.c_cy])
            self.c_mid = (self.c_start + self.c_end) / 2
        self.size = len(self.kp3) * 2 + len(self.uv)
        if principal_point is None:
            principal_point = (width / 2.0, height / 2.0)
        self.move_principal_point(float(principal_point[0]), float(principal_point[1]))

    def move_principal_point(self, cx: float, cy: float) -> None:
        self.cx, self.cy = cx, cy
        if self.circles:
            self.c_p0 = self.c_uv1 - [self.cx, self.cy, 1.0]

    def project(self, x: np.ndarray) -> np.ndarray:
        """Template points through B parameter vectors (B x P): B x N x 2 pixels."""
        r = batch_rotations(x[:, 0], x[:, 1], x[:, 2])
        pc = np.einsum("bij,bnj->bni", r, self.points3[None] - x[:, None, 3:6])
        z = pc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = pc[..., :2] / z[..., None]
        if x.shape[1] > 7:
            xy = xy * (1.0 + x[:, 7, None] * (xy ** 2).sum(axis=-1))[..., None]
        uv = xy * np.exp(x[:, 6])[:, None, None] + [self.cx, self.cy]
        uv[z <= 1e-3] = np.nan
        return uv

    def _circle_residuals(self, x: np.ndarray, out: np.ndarray) -> None:
        """Per point: back-project it to the pitch, take the circle point at the same angle
        around the centre (clamped to the arc), project that and measure in pixels. O(N),
        where a distance to a sampled polyline would be O(N x samples). Batched over B
        parameter vectors (x: B x P, out: B x M)."""
        r = batch_rotations(x[:, 0], x[:, 1], x[:, 2])
        f = np.exp(x[:, 6])
        k = np.zeros((len(x), 3, 3))
        k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2], k[:, 2, 2] = f, f, self.cx, self.cy, 1.0
        t = -np.einsum("bij,bj->bi", r, x[:, 3:6])
        h = k @ np.stack([r[:, :, 0], r[:, :, 1], t], axis=-1)
        try:
            hinv = np.linalg.inv(h)
        except np.linalg.LinAlgError:
            out[:, self.c_idx] = 1e3
            return
        p = self.c_uv1
        q = np.einsum("bij,nj->bni", hinv, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            ang = np.degrees(np.arctan2(q[..., 1] / q[..., 2] - self.c_cy,
                                        q[..., 0] / q[..., 2] - self.c_cx))
        ang = (ang - self.c_mid + 180.0) % 360.0 - 180.0 + self.c_mid  # unwrap about the arc's middle
        ang = np.radians(np.clip(ang, self.c_start, self.c_end))
        # The circle point relative to the camera, then through the camera (ground plane).
        gx = self.c_cx + self.c_r * np.cos(ang) - x[:, 3, None]
        gy = self.c_cy + self.c_r * np.sin(ang) - x[:, 4, None]
        gz = -x[:, 5, None]
        pc = (r[:, None, :, 0] * gx[..., None] + r[:, None, :, 1] * gy[..., None]
              + r[:, None, :, 2] * gz[..., None])
        with np.errstate(divide="ignore", invalid="ignore"):
            proj = pc[..., :2] / pc[..., 2:3] * f[:, None, None] + [self.cx, self.cy]
        d = np.hypot(proj[..., 0] - p[:, 0], proj[..., 1] - p[:, 1])
        d[pc[..., 2] <= 1e-3] = 1e3
        out[:, self.c_idx] = d

    def batch(self, x: np.ndarray) -> np.ndarray:
        """Residual vectors of B parameter vectors (B x P) -> B x M."""
        uv = self.project(x)
        out = np.empty((len(x), self.size))
        nk = len(self.kp3)
        out[:, : 2 * nk] = (uv[:, :nk] - self.kp_uv).reshape(len(x), -1)
        lines = out[:, 2 * nk:]
        if self.straight:
            a, b = uv[:, self.s_a], uv[:, self.s_a + 1]
            d = b - a
            p = self.uv[self.s_idx]
            n = np.hypot(d[..., 0], d[..., 1])
            lines[:, self.s_idx] = np.abs(d[..., 0] * (p[:, 1] - a[..., 1])
                                          - d[..., 1] * (p[:, 0] - a[..., 0])) / np.maximum(n, 1e-9)
        for idx, s0, s1 in self.curves:
            for i in range(len(x)):
                lines[i, idx] = _nearest_distance(self.uv[idx], uv[i, s0:s1])
        if self.circles:
            self._circle_residuals(x, lines)
        return np.nan_to_num(out, nan=1e3, posinf=1e3)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.batch(x[None])[0]

    @property
    def analytic(self) -> bool:
        """Whether value_and_jacobian applies: straight lines, circles and keypoints seen
        by a camera without k1 (the observations of frame-to-frame tracking)."""
        return not self.curves

    def value_and_jacobian(self, x: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The residuals of one parameter vector (as batch gives them) and their analytic
        Jacobian over the parameters `sel` (M x len(sel)); needs `analytic`. Every point (the
        template points and the matched circle points) is projected with its derivatives in
        one matrix product; the calls are dominated by numpy's per-call overhead, so this is
        written for few calls, where the forward differences cost one evaluation of 5-8
        parameter vectors."""
        a, b = _rotation_blocks(x[0], x[1], x[2])
        f = math.exp(x[6])
        pos = x[3:6]
        nt = len(self.points3)
        points = self.points3
        if self.circles:
            circle = self._circle_points(pos, b, f)
            points = np.concatenate([points, circle[0]])
        # Camera frame points and their derivatives, parameter-major: dpc[n, k] = d pc / d x_k.
        rel = points - pos
        m = rel @ a
        pc = m[:, :3]
        dpc = np.empty((len(points), 7, 3))
        dpc[:, :3] = m[:, 3:].reshape(-1, 3, 3)
        dpc[:, 3:6] = -a[:, :3]
        dpc[:, 6] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            iz = 1.0 / pc[:, 2:3]
            xy = pc[:, :2] * iz
            duv = (f * iz)[:, :, None] * (dpc[..., :2] - dpc[..., 2:3] * xy[:, None])
        duv[:, 6] = f * xy
        uv = f * xy + [self.cx, self.cy]
        uv[pc[:, 2] <= 1e-3] = np.nan

        out = np.empty(self.size)
        jac = np.empty((self.size, 7))
        nk = len(self.kp3)
        out[: 2 * nk] = (uv[:nk] - self.kp_uv).ravel()
        jac[: 2 * nk] = duv[:nk].transpose(0, 2, 1).reshape(-1, 7)
        lines, jlines = out[2 * nk:], jac[2 * nk:]
        if self.straight:
            # Distance of p to the line through the projected extremities a, b:
            # |cross(b - a, p - a)| / |b - a|, differentiated through a and b.
            pa, pb = uv[self.s_a], uv[self.s_a + 1]
            d, e = pb - pa, self.uv[self.s_idx] - pa
            cross = d[:, 0] * e[:, 1] - d[:, 1] * e[:, 0]
            n = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
            lines[self.s_idx] = np.abs(cross) / n
            k = (np.sign(cross) / n)[:, None]
            c2 = (cross / n ** 2)[:, None] * d
            g_b = k * (e[:, ::-1] * [1.0, -1.0] - c2)
            g_a = k * ((d - e)[:, ::-1] * [1.0, -1.0] + c2)
            jlines[self.s_idx] = (np.einsum("ni,nki->nk", g_a, duv[self.s_a])
                                  + np.einsum("ni,nki->nk", g_b, duv[self.s_a + 1]))
        if self.circles:
            self._circle_jacobian(circle, uv[nt:], duv[nt:], pc[nt:], a, f, lines, jlines)
        bad = ~np.isfinite(out)
        out[bad] = 1e3
        jac[bad] = 0.0
        return out, np.nan_to_num(jac[:, sel], nan=0.0, posinf=0.0, neginf=0.0)

    def _circle_points(self, pos: np.ndarray, b: np.ndarray, f: float) -> tuple:
        """_circle_residuals' matched circle points of one camera (N x 3), with what their
        derivatives need: the back-projected pixel's angle around the centre moves with the
        camera (dang: d angle / d x, N x 7; 0 where the arc clamps it) and the angle's
        (cos, sin)."""
        v = self.c_p0 / f
        v[:, 2] = 1.0
        m = v @ b
        ray = m[:, :3]
        with np.errstate(divide="ignore", invalid="ignore"):  # rays parallel to the ground
            lam = -pos[2] / ray[:, 2]
            slope = ray[:, :2] / ray[:, 2:3]
        rho = pos[:2] + lam[:, None] * ray[:, :2] - self.c_centre
        ang = np.degrees(np.arctan2(rho[:, 1], rho[:, 0]))
        ang = (ang - self.c_mid + 180.0) % 360.0 - 180.0 + self.c_mid
        on_arc = (ang >= self.c_start) & (ang <= self.c_end)
        ang = np.radians(np.clip(ang, self.c_start, self.c_end))
        cs = np.column_stack([np.cos(ang), np.sin(ang)])
        q = np.zeros((len(v), 3))
        q[:, :2] = self.c_centre + self.c_r[:, None] * cs
        # d ang = (rho_x d rho_y - rho_y d rho_x) / |rho|^2 with rho = pos + lam ray - centre
        # and lam = -Z / ray_z; the ray turns with the angles and with the focal length.
        dray = np.zeros((len(v), 7, 3))
        dray[:, :3] = m[:, 3:].reshape(-1, 3, 3)
        dray[:, 6] = -(v[:, :2] @ b[:2, :3])
        drho = lam[:, None, None] * (dray[..., :2] - dray[..., 2:3] * slope[:, None])
        drho[:, 3, 0] += 1.0
        drho[:, 4, 1] += 1.0
        drho[:, 5] -= slope
        with np.errstate(divide="ignore", invalid="ignore"):
            dang = (rho[:, 0, None] * drho[..., 1] - rho[:, 1, None] * drho[..., 0]) / (
                rho ** 2).sum(axis=1)[:, None]
        dang[~on_arc] = 0.0
        return q, dang, cs

    def _circle_jacobian(self, circle: tuple, proj: np.ndarray, dproj: np.ndarray,
                         pc: np.ndarray, a: np.ndarray, f: float, out: np.ndarray,
                         jac: np.ndarray) -> None:
        """The circle residuals (pixel distance to the matched circle point) and their
        derivatives: the point's own motion with the camera plus its motion along the circle
        as its angle changes."""
        _, dang, cs = circle
        p = self.c_uv1[:, :2]
        diff = proj - p
        res = np.hypot(diff[:, 0], diff[:, 1])
        # Camera frame motion of the circle point per radian, then in pixels.
        tangent = (self.c_r[:, None] * cs) @ np.array([[0.0, 1.0], [-1.0, 0.0]]) @ a[:2, :3]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = pc[:, :2] / pc[:, 2:3]
            dproj_dang = (f / pc[:, 2:3]) * (tangent[:, :2] - xy * tangent[:, 2:3])
            grad = np.einsum("ni,nki->nk", diff / res[:, None], dproj) + (
                (diff * dproj_dang).sum(axis=1) / res)[:, None] * dang
        behind = ~(pc[:, 2] > 1e-3)
        res[behind] = 1e3
        grad[behind] = 0.0
        out[self.c_idx] = res
        jac[self.c_idx] = grad


def _batched_jacobian(fun: _Residuals, x0: np.ndarray, sel: np.ndarray):
    """Forward-difference Jacobian over the free parameters, all steps in one batched
    evaluation: the residuals cost mostly per-call overhead, so one call of 1 + n vectors
    is several times cheaper than scipy's n + 1 separate calls (the step is scipy's
    2-point rule)."""
    def jac(y: np.ndarray, f0: np.ndarray | None = None) -> np.ndarray:
        steps = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(y))
        xs = np.repeat(x0[None], len(sel) + 1, axis=0)
        xs[:, sel] = y
        xs[np.arange(1, len(sel) + 1), sel] += steps
        f = fun.batch(xs)
        return ((f[1:] - f[0]) / steps[:, None]).T
    return jac


def _robust_lm(fun: _Residuals, x0: np.ndarray, sel: np.ndarray, scale: float,
               max_iter: int, min_step_px: float = 0.02) -> np.ndarray:
    """Levenberg-Marquardt on the soft-L1 loss by iteratively reweighted least squares
    (weight 1 / sqrt(1 + (r / scale)^2), the loss's derivative). Every evaluation gives the
    residuals and the analytic Jacobian together: a trial step's evaluation already holds the
    Jacobian of the next iteration (steps are mostly accepted). For the small,
    well-initialised problems of frame-to-frame tracking this reaches scipy's optimum at a
    fraction of least_squares' per-iteration overhead."""
    lam = 1e-3

    def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        r, jac = fun.value_and_jacobian(x, sel)
        return r, jac, float(np.sum(2.0 * (np.sqrt(1.0 + (r / scale) ** 2) - 1.0)))

    x = x0.copy()
    r, jac, c0 = evaluate(x)
    for _ in range(max_iter):
        w = 1.0 / np.sqrt(1.0 + (r / scale) ** 2)
        jw = jac * w[:, None]
        a = jac.T @ jw
        g = jw.T @ r
        improved = False
        for _ in range(6):  # raise the damping until the robust cost drops
            try:
                delta = -np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), g)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            if np.max(np.abs(jac @ delta)) < min_step_px:
                # Converged: the step would move no residual by more than min_step_px, not
                # worth an evaluation (steps shrink to a third per iteration, so this saves
                # the last one or two). At 0.05 px the cameras of a synthetic clip moved by
                # 0.37 px on average and Acc@5 dropped by a frame; at 0.02 px 0.09 px and
                # Acc@5 was unchanged.
                return x
            trial = x.copy()
            trial[sel] += delta
            r1, jac1, c1 = evaluate(trial)
            if c1 < c0:
                improved, lam = True, max(lam / 10.0, 1e-7)
                break
            lam *= 10.0
        if not improved:
            break
        drop = c0 - c1
        x, r, jac, c0 = trial, r1, jac1, c1
        # Converged: a negligible step (1e-5 of a degree or metre is far below a pixel) or a
        # negligible drop of the cost.
        if np.max(np.abs(delta) / np.maximum(1.0, np.abs(x[sel]))) < 1e-5 or drop < 1e-4 * (
                c0 + drop):
            break
    return x


def refine(camera: Camera, obs: Observations, scale_px: float = 2.0, with_k1: bool = False,
           max_nfev: int = 60, free: tuple[int, ...] | None = None,
           fast: bool = False) -> Camera:
    """Robust nonlinear least squares from `camera`; returns the refined camera.

    free: indices of the parameters to fit (pan 0, tilt 1, roll 2, X 3, Y 4, Z 5, log f 6,
    k1 7); None fits all. Tracking within a shot fits pan, tilt, roll and focal only: a
    broadcast camera turns and zooms on a fixed mount, and 4 free parameters cost half the
    function evaluations of 7 in the finite-difference Jacobian. fast: the own
    Levenberg-Marquardt loop with the analytic Jacobian instead of scipy's (tracking; max_nfev
    is then iterations), where the Jacobian is analytic (`_Residuals.analytic`)."""
    w, h = camera.image_width, camera.image_height
    x0 = camera_to_vector(camera, with_k1)
    pp = camera.principal_point
    fun = _Residuals(obs, w, h, curved=with_k1, principal_point=pp)
    sel = np.arange(len(x0)) if free is None else np.array([i for i in free if i < len(x0)])
    if fun.size < len(sel):
        return camera

    if fast and fun.analytic:  # frame to frame: the own LM loop (see _robust_lm)
        return vector_to_camera(_robust_lm(fun, x0, sel, scale_px, max_nfev), w, h, pp)

    def partial(y: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[sel] = y
        return fun(x)

    sol = least_squares(partial, x0[sel], jac=_batched_jacobian(fun, x0, sel), loss="soft_l1",
                        f_scale=scale_px, max_nfev=max_nfev, x_scale="jac")
    x = x0.copy()
    x[sel] = sol.x
    return vector_to_camera(x, w, h, pp)


def refine_principal_point(camera: Camera, obs: Observations, prior: float,
                           scale_px: float = 2.0, max_nfev: int = 100) -> Camera:
    """Refit the camera with its principal point free, pulled to the image centre by a prior
    of `prior` image widths (one standard deviation, per axis).

    The straight lines of a zoomed view pin the camera down in the image but leave the far
    pitch to extrapolation, and a centred principal point is not always the broadcast
    camera's: with it free (prior 0.05), WC14 IoU_whole rose 0.883 -> 0.893 on the same
    cold-start labels, IoU_part 0.959 -> 0.960 (fy = fx kept: freeing it changed nothing)."""
    w, h = camera.image_width, camera.image_height
    fun = _Residuals(obs, w, h, curved=False)
    centre = np.array([w / 2.0, h / 2.0])
    x0 = np.r_[camera_to_vector(camera), (camera.principal_point - centre) / w]

    def res(x: np.ndarray) -> np.ndarray:
        fun.move_principal_point(*(centre + x[7:] * w))
        return np.r_[fun(x[:7]), x[7:] / prior]

    if fun.size < len(x0):
        return camera
    sol = least_squares(res, x0, loss="soft_l1", f_scale=scale_px, max_nfev=max_nfev,
                        x_scale="jac")
    return vector_to_camera(sol.x[:7], w, h, centre + sol.x[7:] * w)


def solve_pnl(camera: Camera, obs: Observations, inlier_px: float = 6.0, rounds: int = 3,
              with_k1: bool = False) -> tuple[Camera, np.ndarray]:
    """Refine, drop observations beyond `inlier_px`, refine again; returns the camera and the
    inlier mask over the observations (keypoints first, then line points)."""
    keep = np.ones(len(obs), dtype=bool)
    nk = len(obs.keypoint_ids)
    for r in range(rounds):
        sub = Observations(obs.keypoint_ids[keep[:nk]], obs.keypoint_uv[keep[:nk]],
                           [c for c, k in zip(obs.line_classes, keep[nk:]) if k],
                           obs.line_uv[keep[nk:]])
        camera = refine(camera, sub, with_k1=with_k1 and r == rounds - 1)
        res = residuals(camera, obs)
        keep = res <= inlier_px * (2.0 if r == 0 else 1.0)
        if keep.sum() < 8:
            break
    return camera, keep
