"""Costmap for the embedded navigator: static map + live scan obstacles + inflation (ROS-free).

Cost values follow Nav2's costmap_2d conventions (uint8):
  0 free, 1..252 inflated (decaying with distance), 253 INSCRIBED (the robot's circle would touch an
  obstacle), 254 LETHAL (an obstacle cell), 255 NO_INFORMATION (unknown).

Layers:
  * static: the OccupancyGrid (int8, 0..100, -1 unknown, row 0 at the origin = lowest y);
  * obstacle: scan endpoints mark cells (a quarter cell beyond the return, inside the obstacle),
    the rays from the sensor clear earlier marks (only the obstacle layer's marks: the static
    map is the SLAM's job);
  * inflation: scipy.ndimage.distance_transform_edt of the lethal cells;
    cost = 252 * exp(-cost_scaling * (d - robot_radius)) for robot_radius < d <= inflation_radius.

Python 3.6 / numpy 1.19 compatible.
"""
import math

import numpy as np
from scipy import ndimage

FREE = 0
MAX_INFLATED = 252
INSCRIBED = 253
LETHAL = 254
NO_INFORMATION = 255

#: OccupancyGrid values at or above this are obstacles (map_server occupied_thresh 0.65)
OCCUPIED_THRESHOLD = 65


class CostmapError(ValueError):
    """Bad costmap input (grid shape, resolution, parameters); the message says what."""


class Costmap(object):
    """A 2-D costmap in the map frame.

    grid: int8 OccupancyGrid array [rows, cols]; resolution [m/cell]; origin (x, y[, yaw]) of cell
    (0, 0)'s outer corner (map yaw must be 0, as map_server / slam maps are).
    """

    def __init__(self, grid, resolution, origin, robot_radius, inflation_radius=0.5,
                 cost_scaling=3.0, raytrace_range=3.0, obstacle_range=2.5, padding=0.06):
        grid = np.asarray(grid)
        if grid.ndim != 2 or grid.size == 0:
            raise CostmapError('map grid must be a non-empty 2-D array, got shape %s'
                               % (grid.shape,))
        if not resolution > 0:
            raise CostmapError('map resolution must be > 0, got %r' % (resolution,))
        if robot_radius <= 0 or inflation_radius < robot_radius + padding or padding < 0:
            raise CostmapError('need 0 < robot_radius (%r) + padding (%r) <= inflation_radius '
                               '(%r)' % (robot_radius, padding, inflation_radius))
        if len(origin) > 2 and abs(float(origin[2])) > 1e-6:
            raise CostmapError('rotated map origins (yaw %r) are not supported' % (origin[2],))
        self.resolution = float(resolution)
        self.origin = (float(origin[0]), float(origin[1]))
        self.robot_radius = float(robot_radius)
        self.padding = float(padding)
        #: distance (cell centres) below which the robot's disc would touch an obstacle cell
        self.inscribed_radius = self.robot_radius + self.padding
        self.inflation_radius = float(inflation_radius)
        self.cost_scaling = float(cost_scaling)
        self.raytrace_range = float(raytrace_range)
        self.obstacle_range = float(obstacle_range)
        self.static = grid.astype(np.int8)
        # obstacle layer: True where a scan endpoint marked a cell
        self.marks = np.zeros(grid.shape, dtype=bool)
        self.costs = None
        self.distance = None
        self.update()

    # --- geometry -------------------------------------------------------------------------
    @property
    def shape(self):
        return self.static.shape

    def same_geometry(self, grid_shape, resolution, origin):
        return (tuple(grid_shape) == self.static.shape
                and abs(resolution - self.resolution) < 1e-9
                and abs(origin[0] - self.origin[0]) < 1e-6
                and abs(origin[1] - self.origin[1]) < 1e-6)

    def world_to_cell(self, x, y):
        """(row, col) ints of a world point (arrays welcome); may be out of bounds."""
        col = np.floor((np.asarray(x, dtype=float) - self.origin[0]) / self.resolution)
        row = np.floor((np.asarray(y, dtype=float) - self.origin[1]) / self.resolution)
        return row.astype(int), col.astype(int)

    def cell_to_world(self, row, col):
        """World (x, y) of a cell centre (arrays welcome)."""
        x = self.origin[0] + (np.asarray(col, dtype=float) + 0.5) * self.resolution
        y = self.origin[1] + (np.asarray(row, dtype=float) + 0.5) * self.resolution
        return x, y

    def in_bounds(self, row, col):
        row = np.asarray(row)
        col = np.asarray(col)
        return (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])

    # --- layers ---------------------------------------------------------------------------
    def set_static(self, grid):
        """Replace the static layer (same geometry); keeps scan marks. Call update() after."""
        grid = np.asarray(grid)
        if grid.shape != self.static.shape:
            raise CostmapError('static grid shape %s != costmap shape %s'
                               % (grid.shape, self.static.shape))
        self.static = grid.astype(np.int8)

    def update_scan(self, sensor_xy, endpoints, hit):
        """Apply one scan: clear along every ray, then mark the endpoints that hit something.

        sensor_xy: (x, y) of the sensor in the map frame; endpoints: (N, 2) world points of the
        beams (for beams that returned nothing, a point at the range limit); hit: (N,) bool.
        Call update() afterwards to refresh the costs.
        """
        sx, sy = float(sensor_xy[0]), float(sensor_xy[1])
        pts = np.asarray(endpoints, dtype=float).reshape(-1, 2)
        hit = np.asarray(hit, dtype=bool).reshape(-1)
        if pts.shape[0] != hit.shape[0]:
            raise CostmapError('%d endpoints but %d hit flags' % (pts.shape[0], hit.shape[0]))
        if pts.shape[0] == 0:
            return
        d = pts - np.array([sx, sy])
        rng = np.hypot(d[:, 0], d[:, 1])
        ok = np.isfinite(rng) & (rng > 1e-6)
        d, rng, hit, pts = d[ok], rng[ok], hit[ok], pts[ok]
        if rng.size == 0:
            return
        # clearing: sample each ray every half cell up to one cell before its end
        clear_len = np.minimum(rng - self.resolution, self.raytrace_range)
        n = int(math.ceil(max(0.0, float(clear_len.max())) / (0.5 * self.resolution))) + 1
        if n > 1:
            t = np.linspace(0.0, 1.0, n)[None, :] * np.maximum(clear_len, 0.0)[:, None]
            ux = d[:, 0] / rng
            uy = d[:, 1] / rng
            xs = sx + ux[:, None] * t
            ys = sy + uy[:, None] * t
            r, c = self.world_to_cell(xs.ravel(), ys.ravel())
            inb = self.in_bounds(r, c)
            self.marks[r[inb], c[inb]] = False
        # marking: endpoints of returns within obstacle_range. A return lies on the obstacle's
        # surface, i.e. on a cell boundary: a quarter cell further along the beam is inside the
        # obstacle's cell, not in the free cell in front of it
        m = hit & (rng <= self.obstacle_range)
        if np.any(m):
            ext = 1.0 + 0.25 * self.resolution / rng[m]
            r, c = self.world_to_cell(sx + d[m, 0] * ext, sy + d[m, 1] * ext)
            inb = self.in_bounds(r, c)
            self.marks[r[inb], c[inb]] = True

    def update(self):
        """Recompute the cost array from the static layer and the scan marks."""
        occupied = (self.static >= OCCUPIED_THRESHOLD) | self.marks
        unknown = (self.static < 0) & ~occupied
        if np.any(occupied):
            dist = ndimage.distance_transform_edt(~occupied) * self.resolution
        else:
            dist = np.full(occupied.shape, np.inf)
        costs = np.zeros(occupied.shape, dtype=np.uint8)
        r_in = self.inscribed_radius
        band = (dist > r_in) & (dist <= self.inflation_radius)
        costs[band] = np.round(MAX_INFLATED * np.exp(
            -self.cost_scaling * (dist[band] - r_in))).astype(np.uint8)
        costs[dist <= r_in] = INSCRIBED
        costs[unknown & (costs < INSCRIBED)] = NO_INFORMATION
        costs[occupied] = LETHAL
        self.distance = dist
        self.costs = costs

    # --- queries --------------------------------------------------------------------------
    def cost_at(self, x, y):
        """Cost of the cell under world points (arrays welcome); outside the map: NO_INFORMATION."""
        r, c = self.world_to_cell(x, y)
        inb = self.in_bounds(r, c)
        out = np.full(np.shape(r), NO_INFORMATION, dtype=np.uint8)
        out[inb] = self.costs[r[inb], c[inb]]
        return out if out.ndim else int(out)

    def clearance_at(self, x, y):
        """Distance [m] from world points to the nearest obstacle cell (0 outside the map)."""
        r, c = self.world_to_cell(x, y)
        inb = self.in_bounds(r, c)
        out = np.zeros(np.shape(r), dtype=float)
        out[inb] = self.distance[r[inb], c[inb]]
        return out if out.ndim else float(out)

    def traversable(self, allow_unknown=False, max_cost=INSCRIBED - 1):
        """Bool array: cells the robot's centre may occupy (cost <= max_cost)."""
        ok = self.costs <= min(int(max_cost), INSCRIBED - 1)
        if allow_unknown:
            ok = ok | (self.costs == NO_INFORMATION)
        return ok

    def is_free(self, x, y, allow_unknown=False):
        cost = self.cost_at(x, y)
        ok = np.asarray(cost) < INSCRIBED
        if allow_unknown:
            ok = ok | (np.asarray(cost) == NO_INFORMATION)
        return ok if ok.ndim else bool(ok)


def scan_endpoints(laser_pose, ranges, angle_min, angle_increment, range_min, range_max):
    """World endpoints of a LaserScan taken from ``laser_pose`` (x, y, yaw) in the map frame.

    Returns (points (N, 2), hit (N,) bool). Beams without a valid return (inf, nan, 0, beyond
    range_max) get an endpoint at range_max and hit False, so they still clear.
    """
    r = np.asarray(ranges, dtype=float).reshape(-1)
    ang = float(angle_min) + float(angle_increment) * np.arange(r.size) + float(laser_pose[2])
    hit = np.isfinite(r) & (r >= float(range_min)) & (r < float(range_max))
    reach = np.where(hit, r, float(range_max))
    # beams below range_min are noise (or the robot itself): neither mark nor clear
    valid = hit | ~np.isfinite(r) | (r >= float(range_max))
    pts = np.stack([laser_pose[0] + reach * np.cos(ang), laser_pose[1] + reach * np.sin(ang)],
                   axis=1)
    return pts[valid], hit[valid]
