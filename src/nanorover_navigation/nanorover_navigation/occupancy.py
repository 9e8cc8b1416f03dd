"""Log-odds occupancy grid (ROS-free, numpy), growing as the robot explores.

Layout follows nav_msgs/OccupancyGrid and nanorover_common.map_io: ``grid[row, col]`` with row = y
index, col = x index, cell (0, 0) at ``origin`` (lower-left corner).
"""
import math

import numpy as np

from nanorover_common.map_io import FREE, OCCUPIED, UNKNOWN, MapInfo


def logit(p):
    return math.log(p / (1.0 - p))


class OccupancyGrid(object):
    def __init__(self, resolution=0.05, p_hit=0.7, p_miss=0.4, l_min=-2.0, l_max=3.5,
                 occupied_threshold=0.65, free_threshold=0.25, grow_margin=3.0):
        self.resolution = float(resolution)
        self.l_hit = logit(p_hit)
        self.l_miss = logit(p_miss)
        self.l_min = l_min
        self.l_max = l_max
        self.l_occ = logit(occupied_threshold)
        self.l_free = logit(free_threshold)
        self.grow_margin = grow_margin
        self.origin = np.zeros(2)
        self.logodds = np.zeros((0, 0), dtype=np.float32)
        self.observed = np.zeros((0, 0), dtype=bool)

    @property
    def shape(self):
        return self.logodds.shape

    def clear(self):
        self.logodds = np.zeros((0, 0), dtype=np.float32)
        self.observed = np.zeros((0, 0), dtype=bool)

    def _ensure(self, lo, hi):
        """Grow the grid so that the world box [lo, hi] is inside it."""
        res = self.resolution
        rows, cols = self.logodds.shape
        if rows and cols:
            cur_lo = self.origin
            cur_hi = self.origin + np.array([cols, rows]) * res
            if np.all(lo >= cur_lo) and np.all(hi < cur_hi):
                return
            new_lo = np.minimum(cur_lo, lo - self.grow_margin)
            new_hi = np.maximum(cur_hi, hi + self.grow_margin)
        else:
            new_lo = lo - self.grow_margin
            new_hi = hi + self.grow_margin
        # keep cells aligned with the old lattice
        shift = np.floor((new_lo - self.origin) / res) if rows else np.zeros(2)
        new_origin = self.origin + shift * res if rows else np.floor(new_lo / res) * res
        size = np.ceil((new_hi - new_origin) / res).astype(int) + 1
        new_log = np.zeros((size[1], size[0]), dtype=np.float32)
        new_obs = np.zeros((size[1], size[0]), dtype=bool)
        if rows:
            ox, oy = (-shift).astype(int)
            new_log[oy:oy + rows, ox:ox + cols] = self.logodds
            new_obs[oy:oy + rows, ox:ox + cols] = self.observed
        self.origin = new_origin
        self.logodds = new_log
        self.observed = new_obs

    def integrate(self, sensor_xy, endpoints, free_endpoints=None):
        """Add one scan: rays from ``sensor_xy`` (world) to ``endpoints`` (N, 2 world, hits).

        ``free_endpoints`` (M, 2): rays that returned nothing within range; their cells are marked
        free up to the given point but no hit is added.
        """
        sensor_xy = np.asarray(sensor_xy, dtype=float)
        endpoints = np.asarray(endpoints, dtype=float).reshape(-1, 2)
        if free_endpoints is None:
            free_endpoints = np.zeros((0, 2))
        allpts = np.vstack([endpoints, free_endpoints, sensor_xy.reshape(1, 2)])
        self._ensure(allpts.min(axis=0), allpts.max(axis=0))
        res = self.resolution
        rows, cols = self.logodds.shape
        rays = np.vstack([endpoints, free_endpoints])
        if len(rays) == 0:
            return
        d = rays - sensor_xy
        length = np.hypot(d[:, 0], d[:, 1])
        step = 0.5 * res
        n = int(math.ceil(length.max() / step)) + 1
        t = np.arange(n) * step
        # sample points strictly before each hit cell
        frac = t[None, :] / np.maximum(length[:, None], 1e-9)
        mask = t[None, :] < (length[:, None] - 0.5 * res)
        px = sensor_xy[0] + frac * d[:, 0:1]
        py = sensor_xy[1] + frac * d[:, 1:2]
        ix = np.floor((px[mask] - self.origin[0]) / res).astype(np.int64)
        iy = np.floor((py[mask] - self.origin[1]) / res).astype(np.int64)
        free = np.zeros(rows * cols, dtype=bool)
        free[iy * cols + ix] = True
        hx = np.floor((endpoints[:, 0] - self.origin[0]) / res).astype(np.int64)
        hy = np.floor((endpoints[:, 1] - self.origin[1]) / res).astype(np.int64)
        hits = np.unique(hy * cols + hx)
        free[hits] = False
        flat = self.logodds.reshape(-1)
        obs = self.observed.reshape(-1)
        flat[free] += self.l_miss
        flat[hits] += self.l_hit
        obs[free] = True
        obs[hits] = True
        np.clip(flat, self.l_min, self.l_max, out=flat)

    def to_grid(self):
        """int8 nav_msgs grid (0 free, 100 occupied, -1 unknown)."""
        g = np.full(self.logodds.shape, UNKNOWN, dtype=np.int8)
        g[self.observed & (self.logodds <= self.l_free)] = FREE
        g[self.observed & (self.logodds >= self.l_occ)] = OCCUPIED
        # observed but undecided: report as probability (1..99)
        mid = self.observed & (self.logodds > self.l_free) & (self.logodds < self.l_occ)
        if np.any(mid):
            p = 1.0 / (1.0 + np.exp(-self.logodds[mid]))
            g[mid] = np.clip(np.round(p * 100.0), 1, 99).astype(np.int8)
        return g

    def info(self):
        return MapInfo(self.resolution, (float(self.origin[0]), float(self.origin[1]), 0.0))

    def world_to_cell(self, xy):
        """(row, col) of a world point (may be out of bounds)."""
        c = int(math.floor((xy[0] - self.origin[0]) / self.resolution))
        r = int(math.floor((xy[1] - self.origin[1]) / self.resolution))
        return r, c
