"""The SoccerNet camera model, shared by every stage.

Rotation R = (Rz(pan) Rx(tilt) Rz(roll))^T; a pitch point P goes to camera coordinates
R (P - C); x' = X/Z, y' = Y/Z; OpenCV's rational distortion with tangential and thin-prism
terms gives (x'', y''); pixels u = fx x'' + cx, v = fy y'' + cy. Points with camera Z <= 1e-3
are behind the camera and are not projected (NaN).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

MIN_DEPTH = 1e-3


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_from_pan_tilt_roll(pan_deg: float, tilt_deg: float, roll_deg: float) -> np.ndarray:
    """World-to-camera rotation R for SoccerNet's angles (degrees)."""
    p, t, r = (math.radians(a) for a in (pan_deg, tilt_deg, roll_deg))
    return (_rz(p) @ _rx(t) @ _rz(r)).T


def pan_tilt_roll_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of rotation_from_pan_tilt_roll, with tilt in [0, 180] degrees."""
    o = np.asarray(rotation, dtype=np.float64).T  # Rz(pan) Rx(tilt) Rz(roll)
    tilt = math.acos(float(np.clip(o[2, 2], -1.0, 1.0)))
    if abs(math.sin(tilt)) < 1e-12:  # looking straight down or up: only pan + roll is defined
        return 0.0, math.degrees(tilt), math.degrees(math.atan2(o[1, 0], o[0, 0]))
    pan = math.atan2(o[0, 2], -o[1, 2])
    roll = math.atan2(o[2, 0], o[2, 1])
    return math.degrees(pan), math.degrees(tilt), math.degrees(roll)


@dataclass
class Camera:
    """A SoccerNet camera for an image of `image_width` x `image_height` pixels."""

    pan_degrees: float
    tilt_degrees: float
    roll_degrees: float
    position_meters: np.ndarray
    x_focal_length: float
    y_focal_length: float
    principal_point: np.ndarray
    image_width: int
    image_height: int
    radial_distortion: np.ndarray = field(default_factory=lambda: np.zeros(6))
    tangential_distortion: np.ndarray = field(default_factory=lambda: np.zeros(2))
    thin_prism_distortion: np.ndarray = field(default_factory=lambda: np.zeros(4))

    def __post_init__(self) -> None:
        for name, n in (("position_meters", 3), ("principal_point", 2), ("radial_distortion", 6),
                        ("tangential_distortion", 2), ("thin_prism_distortion", 4)):
            value = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if value.shape != (n,):
                raise ValueError(f"camera {name} needs {n} values, got {value.shape[0]}")
            setattr(self, name, value)
        for name in ("pan_degrees", "tilt_degrees", "roll_degrees", "x_focal_length",
                     "y_focal_length"):
            setattr(self, name, float(getattr(self, name)))
        self.image_width, self.image_height = int(self.image_width), int(self.image_height)

    # --- matrices -----------------------------------------------------------------------
    @property
    def rotation(self) -> np.ndarray:
        return rotation_from_pan_tilt_roll(self.pan_degrees, self.tilt_degrees, self.roll_degrees)

    @property
    def intrinsics(self) -> np.ndarray:
        cx, cy = self.principal_point
        return np.array([[self.x_focal_length, 0.0, cx], [0.0, self.y_focal_length, cy],
                         [0.0, 0.0, 1.0]])

    @property
    def distortion_coefficients(self) -> np.ndarray:
        """OpenCV order: k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4."""
        k, p, s = self.radial_distortion, self.tangential_distortion, self.thin_prism_distortion
        return np.array([k[0], k[1], p[0], p[1], k[2], k[3], k[4], k[5], *s])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.radial_distortion) or np.any(self.tangential_distortion)
                     or np.any(self.thin_prism_distortion))

    def pitch_to_image_homography(self) -> np.ndarray:
        """Maps pitch (x, y, 1) on the ground plane z = 0 to undistorted pixels."""
        r = self.rotation
        h = self.intrinsics @ np.column_stack([r[:, 0], r[:, 1], -r @ self.position_meters])
        return h / h[2, 2]

    def image_to_pitch_homography(self) -> np.ndarray:
        """Maps undistorted pixels (x, y, 1) to pitch metres on z = 0."""
        h = np.linalg.inv(self.pitch_to_image_homography())
        return h / h[2, 2]

    # --- projection ---------------------------------------------------------------------
    def to_camera_frame(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - self.position_meters) @ self.rotation.T

    def distort(self, xy: np.ndarray) -> np.ndarray:
        """Normalised undistorted (x', y') -> distorted (x'', y'')."""
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        k, p, s = self.radial_distortion, self.tangential_distortion, self.thin_prism_distortion
        radial = (1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3) / (
            1 + k[3] * r2 + k[4] * r2**2 + k[5] * r2**3)
        xd = x * radial + 2 * p[0] * x * y + p[1] * (r2 + 2 * x * x) + s[0] * r2 + s[1] * r2**2
        yd = y * radial + p[0] * (r2 + 2 * y * y) + 2 * p[1] * x * y + s[2] * r2 + s[3] * r2**2
        return np.stack([xd, yd], axis=-1)

    def project(self, points: np.ndarray, distort: bool = True) -> np.ndarray:
        """Project N x 3 pitch points (metres) to N x 2 pixels; NaN behind the camera."""
        pc = self.to_camera_frame(np.atleast_2d(points))
        z = pc[:, 2]
        front = z > MIN_DEPTH
        xy = np.full((len(pc), 2), np.nan)
        xy[front] = pc[front, :2] / z[front, None]
        if distort and self.has_distortion:
            xy[front] = self.distort(xy[front])
        uv = xy * [self.x_focal_length, self.y_focal_length] + self.principal_point
        return uv

    def undistort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels -> the pixels an ideal pinhole camera would see (N x 2)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion or len(uv) == 0:
            return uv.copy()
        k = self.intrinsics
        out = cv2.undistortPointsIter(uv.reshape(-1, 1, 2), k, self.distortion_coefficients,
                                      None, k, (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS,
                                                50, 1e-10))
        return out.reshape(-1, 2)

    def image_to_pitch(self, uv: np.ndarray) -> np.ndarray:
        """Pixels (distortion removed first) -> pitch metres on z = 0 (N x 2)."""
        pts = self.undistort_pixels(uv)
        h = self.image_to_pitch_homography()
        q = np.column_stack([pts, np.ones(len(pts))]) @ h.T
        return q[:, :2] / q[:, 2:3]

    # --- construction and conversion ----------------------------------------------------
    @classmethod
    def from_homography(cls, image_to_pitch: np.ndarray, image_width: int,
                        image_height: int) -> Camera | None:
        """The pinhole camera (square pixels, principal point at the image centre, no
        distortion) whose ground-plane homography is `image_to_pitch` (pixels -> metres).

        Returns None where no such camera exists (a degenerate or non-perspective homography).
        """
        cx, cy = image_width / 2.0, image_height / 2.0
        h = np.linalg.inv(np.asarray(image_to_pitch, dtype=np.float64))  # pitch -> pixels
        h = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]]) @ h  # principal point to origin
        h1, h2 = h[:, 0], h[:, 1]
        # Orthonormal rotation columns give two constraints on w = 1 / f^2 (Zhang's image of
        # the absolute conic with known principal point and square pixels); solve both at once.
        a = np.array([h1[0] * h2[0] + h1[1] * h2[1],
                      h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2])
        b = np.array([h1[2] * h2[2], h1[2] ** 2 - h2[2] ** 2])
        denom = float(a @ a)
        if denom < 1e-18:
            return None
        w = -float(a @ b) / denom
        if not w > 0:
            return None
        f = 1.0 / math.sqrt(w)
        m = np.diag([1 / f, 1 / f, 1.0]) @ h  # = lambda [r1 r2 t]
        lam = 2.0 / (np.linalg.norm(m[:, 0]) + np.linalg.norm(m[:, 1]))
        if m[2, 2] * lam < 0:  # the pitch centre must lie in front of the camera
            lam = -lam
        r1, r2, t = m[:, 0] * lam, m[:, 1] * lam, m[:, 2] * lam
        u, _, vt = np.linalg.svd(np.column_stack([r1, r2, np.cross(r1, r2)]))
        rot = u @ vt
        if np.linalg.det(rot) < 0:
            return None
        pan, tilt, roll = pan_tilt_roll_from_rotation(rot)
        return cls(pan, tilt, roll, -rot.T @ t, f, f, (cx, cy), image_width, image_height)

    def rescaled(self, width: int, height: int) -> Camera:
        """The same camera for the image resized to width x height (exact)."""
        sx, sy = width / self.image_width, height / self.image_height
        return replace(self, x_focal_length=self.x_focal_length * sx,
                       y_focal_length=self.y_focal_length * sy,
                       principal_point=self.principal_point * [sx, sy],
                       image_width=width, image_height=height)

    def to_dict(self) -> dict:
        """SoccerNet camera parameters (the keys of the camera JSON and calibration table)."""
        return {
            "pan_degrees": self.pan_degrees,
            "tilt_degrees": self.tilt_degrees,
            "roll_degrees": self.roll_degrees,
            "position_meters": self.position_meters.tolist(),
            "x_focal_length": self.x_focal_length,
            "y_focal_length": self.y_focal_length,
            "principal_point": self.principal_point.tolist(),
            "radial_distortion": self.radial_distortion.tolist(),
            "tangential_distortion": self.tangential_distortion.tolist(),
            "thin_prism_distortion": self.thin_prism_distortion.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict, image_width: int | None = None,
                  image_height: int | None = None) -> Camera:
        """From SoccerNet parameters; the image size defaults to twice the principal point,
        as SoccerNet's own tools assume."""
        missing = [k for k in _JSON_KEYS if k not in d]
        if missing:
            raise ValueError(f"camera parameters lack {missing}")
        pp = d["principal_point"]
        return cls(d["pan_degrees"], d["tilt_degrees"], d["roll_degrees"], d["position_meters"],
                   d["x_focal_length"], d["y_focal_length"], pp,
                   image_width if image_width is not None else round(2 * pp[0]),
                   image_height if image_height is not None else round(2 * pp[1]),
                   d["radial_distortion"], d["tangential_distortion"],
                   d["thin_prism_distortion"])

    def write_json(self, path: str | os.PathLike, width: int = 960, height: int = 540) -> None:
        """Write a SoccerNet camera JSON file, at 960x540 pixels unless asked."""
        with open(path, "w") as f:
            json.dump(self.rescaled(width, height).to_dict(), f, indent=2)

    @classmethod
    def read_json(cls, path: str | os.PathLike) -> Camera:
        with open(path) as f:
            return cls.from_dict(json.load(f))


_JSON_KEYS = ("pan_degrees", "tilt_degrees", "roll_degrees", "position_meters", "x_focal_length",
              "y_focal_length", "principal_point", "radial_distortion", "tangential_distortion",
              "thin_prism_distortion")


def camera_looking_at(position: np.ndarray, target: np.ndarray, focal: float, width: int,
                      height: int, roll_degrees: float = 0.0) -> Camera:
    """A camera at `position` whose optical axis passes through pitch point `target`."""
    d = np.asarray(target, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    d /= np.linalg.norm(d)
    # The optical axis is the third row of R, i.e. the third column of Rz(pan) Rx(tilt):
    # (sin pan sin tilt, -cos pan sin tilt, cos tilt).
    tilt = math.degrees(math.acos(float(np.clip(d[2], -1, 1))))
    pan = math.degrees(math.atan2(d[0], -d[1]))
    return Camera(pan, tilt, roll_degrees, position, focal, focal, (width / 2, height / 2),
                  width, height)


def cameras_by_frame(calibration) -> dict[int, Camera]:
    """frame -> Camera at the source resolution for the rows of a calibration table whose
    status is ok (the table may be None or empty: no cameras)."""
    if calibration is None or calibration.num_rows == 0:
        return {}
    return {int(r["frame"]): Camera.from_dict(r, r["width"], r["height"])
            for r in calibration.to_pylist()
            if r.get("status") == "ok" and r.get("pan_degrees") is not None}
