"""SE(2) helpers on (x, y, yaw) poses (tuples, lists or numpy arrays).

Pure numpy, Python 3.6 compatible. Functions taking a single pose also accept an
(N, 3) array and then work row-wise (vectorised).
"""
import math

import numpy as np


def wrap_angle(a):
    """Wrap an angle (scalar or array) to [-pi, pi)."""
    if np.ndim(a) == 0:
        return (float(a) + math.pi) % (2.0 * math.pi) - math.pi
    return (np.asarray(a, dtype=float) + np.pi) % (2.0 * np.pi) - np.pi


def _split(p):
    p = np.asarray(p, dtype=float)
    return p[..., 0], p[..., 1], p[..., 2]


def _pack(x, y, t, like):
    if np.ndim(like) == 1:
        return np.array([float(x), float(y), float(t)])
    return np.stack([x, y, t], axis=-1)


def se2_compose(a, b):
    """a (+) b: pose b expressed in frame a, returned in a's parent frame."""
    ax, ay, at = _split(a)
    bx, by, bt = _split(b)
    c, s = np.cos(at), np.sin(at)
    x = ax + c * bx - s * by
    y = ay + s * bx + c * by
    t = wrap_angle(at + bt)
    like = a if np.ndim(a) >= np.ndim(b) else b
    return _pack(x, y, t, like)


def se2_inverse(a):
    """Inverse pose: se2_compose(a, se2_inverse(a)) == identity."""
    ax, ay, at = _split(a)
    c, s = np.cos(at), np.sin(at)
    x = -(c * ax + s * ay)
    y = -(-s * ax + c * ay)
    return _pack(x, y, wrap_angle(-at), a)


def se2_between(a, b):
    """Relative pose of b in a's frame: inverse(a) (+) b."""
    return se2_compose(se2_inverse(a), b)


def transform_points(pose, pts):
    """Apply pose (x, y, yaw) to an (N, 2) point array."""
    x, y, t = [float(v) for v in pose]
    c, s = math.cos(t), math.sin(t)
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    out = np.empty_like(pts)
    out[:, 0] = x + c * pts[:, 0] - s * pts[:, 1]
    out[:, 1] = y + s * pts[:, 0] + c * pts[:, 1]
    return out


def yaw_from_quaternion(q):
    """Yaw of a quaternion given as an object with x, y, z, w or a (x, y, z, w) sequence."""
    if hasattr(q, 'w'):
        x, y, z, w = q.x, q.y, q.z, q.w
    else:
        x, y, z, w = q
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quaternion_from_yaw(yaw):
    """(x, y, z, w) quaternion of a rotation by yaw about z."""
    return (0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))
