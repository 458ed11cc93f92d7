"""A camera as a parameter vector for the solvers: pan, tilt, roll (degrees), position (m),
log focal length, optional k1. Square pixels; the principal point is not in the vector (it is
weakly observable from pitch lines alone): the image centre, or a camera's own held fixed
(solver.refine_principal_point estimates it once per cold start)."""

from __future__ import annotations

import math

import numpy as np

from factory.geometry.camera import Camera


def camera_to_vector(camera: Camera, with_k1: bool = False) -> np.ndarray:
    v = [camera.pan_degrees, camera.tilt_degrees, camera.roll_degrees,
         *camera.position_meters, math.log(camera.x_focal_length)]
    if with_k1:
        v.append(float(camera.radial_distortion[0]))
    return np.array(v, dtype=np.float64)


def vector_to_camera(v: np.ndarray, width: int, height: int,
                     principal_point: np.ndarray | None = None) -> Camera:
    """principal_point: the camera's own (pixels), held fixed by the solvers that take this
    vector; None is the image centre."""
    f = math.exp(float(v[6]))
    radial = np.zeros(6)
    if len(v) > 7:
        radial[0] = v[7]
    if principal_point is None:
        principal_point = (width / 2.0, height / 2.0)
    return Camera(v[0], v[1], v[2], v[3:6], f, f, principal_point, width, height, radial)


def batch_rotations(pan: np.ndarray, tilt: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """R = (Rz(pan) Rx(tilt) Rz(roll))^T for arrays of angles in degrees: N x 3 x 3."""
    p, t, r = (np.radians(np.asarray(a, dtype=np.float64)) for a in (pan, tilt, roll))
    cp, sp, ct, st, cr, sr = np.cos(p), np.sin(p), np.cos(t), np.sin(t), np.cos(r), np.sin(r)
    o = np.empty(p.shape + (3, 3))
    # Rz(p) Rx(t) Rz(r), written out.
    o[..., 0, 0] = cp * cr - sp * ct * sr
    o[..., 0, 1] = -cp * sr - sp * ct * cr
    o[..., 0, 2] = sp * st
    o[..., 1, 0] = sp * cr + cp * ct * sr
    o[..., 1, 1] = -sp * sr + cp * ct * cr
    o[..., 1, 2] = -cp * st
    o[..., 2, 0] = st * sr
    o[..., 2, 1] = st * cr
    o[..., 2, 2] = ct
    return np.swapaxes(o, -1, -2)


def batch_pitch_to_image(pan, tilt, roll, position, focal, width, height) -> np.ndarray:
    """Ground-plane homographies (pitch metres -> pixels) of many cameras: N x 3 x 3."""
    r = batch_rotations(pan, tilt, roll)
    position = np.broadcast_to(np.asarray(position, dtype=np.float64), r.shape[:-2] + (3,))
    t = -np.einsum("...ij,...j->...i", r, position)
    m = np.stack([r[..., :, 0], r[..., :, 1], t], axis=-1)
    k = np.zeros(r.shape[:-2] + (3, 3))
    k[..., 0, 0] = focal
    k[..., 1, 1] = focal
    k[..., 0, 2] = width / 2.0
    k[..., 1, 2] = height / 2.0
    k[..., 2, 2] = 1.0
    return k @ m
