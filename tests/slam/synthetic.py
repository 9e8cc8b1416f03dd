"""Test worlds for the SLAM tests: a room drawn on an occupancy grid, scans by nanorover_sim's
ray caster (with a tiny numpy fallback caster while the simulator package is absent)."""
import math

import numpy as np

from nanorover_common.map_io import MapInfo

RES = 0.05


def room_grid(width=8.0, height=6.0, pillars=True):
    """Walls around [0, width] x [0, height] plus a few pillars/bumps (so scans are not
    symmetric); returns (bool occupied [rows, cols], MapInfo with origin (-0.5, -0.5))."""
    info = MapInfo(RES, (-0.5, -0.5, 0.0))
    cols = int(round((width + 1.0) / RES))
    rows = int(round((height + 1.0) / RES))
    occ = np.zeros((rows, cols), dtype=bool)

    def box(x0, y0, x1, y1):
        c0, c1 = int((x0 + 0.5) / RES), int(math.ceil((x1 + 0.5) / RES))
        r0, r1 = int((y0 + 0.5) / RES), int(math.ceil((y1 + 0.5) / RES))
        occ[max(r0, 0):r1, max(c0, 0):c1] = True

    box(-0.5, -0.5, width + 0.5, 0.0)
    box(-0.5, height, width + 0.5, height + 0.5)
    box(-0.5, -0.5, 0.0, height + 0.5)
    box(width, -0.5, width + 0.5, height + 0.5)
    if pillars:
        box(2.0, 2.0, 2.4, 2.3)
        box(5.5, 3.5, 5.8, 4.4)
        box(3.5, height - 0.6, 4.5, height)
        box(width - 0.5, 1.0, width, 1.3)
        box(1.0, 4.5, 1.2, 4.7)
    return occ, info


def cast(occ, info, pose, beams=360, max_range=12.0, laser_x=0.03, noise=0.0, rng=None):
    """Laser ranges at base pose (laser x offset), angles -pi..pi (exclusive)."""
    x, y, th = pose
    lx = x + laser_x * math.cos(th)
    ly = y + laser_x * math.sin(th)
    angles = -math.pi + 2 * math.pi / beams * np.arange(beams)
    try:
        from nanorover_sim.raycast import cast_rays
        r = cast_rays(occ, info, lx, ly, angles + th, max_range)
    except ImportError:
        r = _march(occ, info, lx, ly, angles + th, max_range)
    if noise:
        r = r + noise * (rng or np.random).randn(beams)
    r = np.where(r >= max_range - 1e-6, np.inf, r)
    return r, -math.pi, 2 * math.pi / beams


def _march(occ, info, x, y, angles, max_range):
    step = info.resolution / 4.0
    t = np.arange(0.0, max_range, step)
    px = x + np.cos(angles)[:, None] * t
    py = y + np.sin(angles)[:, None] * t
    c = np.floor((px - info.origin[0]) / info.resolution).astype(int)
    r = np.floor((py - info.origin[1]) / info.resolution).astype(int)
    rows, cols = occ.shape
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    hit = ~inside
    hit[inside] = occ[r[inside], c[inside]]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), len(t) - 1)
    return np.minimum(t[first], max_range)
