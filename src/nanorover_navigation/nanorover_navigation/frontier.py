"""Frontier exploration (Yamauchi 1997) on an OccupancyGrid + Costmap (ROS-free).

A frontier cell is a known-free cell 8-adjacent to an unknown cell. Frontier cells are grouped into
8-connected clusters (scipy.ndimage.label); each cluster gets a target: the cluster's cell nearest
its centroid among those the robot can reach (scipy Dijkstra distances over the costmap's
traversable cells, from the robot). Clusters are ranked by path distance minus a bonus for size;
targets that failed before are blacklisted (with a radius) so the explorer moves on. Exploration is
done when no reachable frontier cluster is left.
"""
import math

import numpy as np
from scipy import ndimage

from nanorover_navigation.costmap import OCCUPIED_THRESHOLD
from nanorover_navigation.planner import grid_distances, nearest_traversable

_EIGHT = np.ones((3, 3), dtype=bool)


class Frontier(object):
    __slots__ = ('cells', 'size', 'centroid', 'target', 'target_cell', 'distance')

    def __init__(self, cells, size, centroid, target, target_cell, distance):
        self.cells = cells            # (N, 2) [row, col]
        self.size = size              # number of cells
        self.centroid = centroid      # (x, y) world
        self.target = target          # (x, y) world, where the robot should go
        self.target_cell = target_cell
        self.distance = distance      # path distance from the robot [m] (inf: unreachable)

    def __repr__(self):
        return 'Frontier(size=%d, target=(%.2f, %.2f), distance=%.2f)' % (
            self.size, self.target[0], self.target[1], self.distance)


def frontier_mask(grid):
    """Bool array: free cells (0 <= value < occupied threshold... strictly: known, not occupied)
    with at least one unknown 8-neighbour."""
    grid = np.asarray(grid)
    unknown = grid < 0
    free = (grid >= 0) & (grid < OCCUPIED_THRESHOLD)
    return free & ndimage.binary_dilation(unknown, structure=_EIGHT)


def find_frontiers(grid, costmap, robot_xy, min_size=3, traversable=None):
    """Frontier clusters of ``grid`` (same geometry as ``costmap``), reachable ones first by
    distance. ``traversable``: bool array of the cells paths may use (default: the costmap's).
    Unreachable clusters are returned with distance inf."""
    mask = frontier_mask(grid)
    labels, n = ndimage.label(mask, structure=_EIGHT)
    if n == 0:
        return []
    trav = costmap.traversable() if traversable is None else traversable
    r0, c0 = [int(v) for v in costmap.world_to_cell(robot_xy[0], robot_xy[1])]
    if not costmap.in_bounds(r0, c0):
        return []
    start = (r0, c0)
    if not trav[r0, c0]:
        moved = nearest_traversable(trav, r0, c0,
                                    int(math.ceil(2 * costmap.robot_radius / costmap.resolution)))
        if moved is not None:
            start = moved
    dist = grid_distances(trav, start, costmap.resolution)
    reach_r = max(1, int(math.ceil(costmap.robot_radius * 2.5 / costmap.resolution)))
    out = []
    objects = ndimage.find_objects(labels)
    for k, sl in enumerate(objects):
        if sl is None:
            continue
        rr, cc = np.nonzero(labels[sl] == k + 1)
        rr = rr + sl[0].start
        cc = cc + sl[1].start
        size = rr.size
        if size < min_size:
            continue
        cx, cy = costmap.cell_to_world(rr.mean(), cc.mean())
        # candidate targets: reachable cells near the frontier (frontier cells themselves sit next
        # to unknown space and are often inside the inflated band)
        r_lo, r_hi = max(0, rr.min() - reach_r), min(grid.shape[0], rr.max() + reach_r + 1)
        c_lo, c_hi = max(0, cc.min() - reach_r), min(grid.shape[1], cc.max() + reach_r + 1)
        win = dist[r_lo:r_hi, c_lo:c_hi]
        near = ndimage.binary_dilation(labels[r_lo:r_hi, c_lo:c_hi] == k + 1,
                                       structure=_EIGHT, iterations=reach_r)
        cand = near & np.isfinite(win)
        cr, ccol = costmap.world_to_cell(cx, cy)
        if np.any(cand):
            tr, tc = np.nonzero(cand)
            tr = tr + r_lo
            tc = tc + c_lo
            i = int(np.argmin((tr - cr) ** 2 + (tc - ccol) ** 2))
            tcell = (int(tr[i]), int(tc[i]))
            d = float(dist[tcell])
        else:
            i = int(np.argmin((rr - cr) ** 2 + (cc - ccol) ** 2))
            tcell = (int(rr[i]), int(cc[i]))
            d = float('inf')
        tx, ty = costmap.cell_to_world(tcell[0], tcell[1])
        out.append(Frontier(np.stack([rr, cc], axis=1), size, (float(cx), float(cy)),
                            (float(tx), float(ty)), tcell, d))
    out.sort(key=lambda f: f.distance)
    return out


class FrontierExplorer(object):
    """Chooses the next frontier target; remembers the ones that failed."""

    def __init__(self, min_size=3, size_weight=0.02, blacklist_radius=0.3, min_distance=0.0):
        self.min_size = int(min_size)
        self.size_weight = float(size_weight)
        self.blacklist_radius = float(blacklist_radius)
        self.min_distance = float(min_distance)
        self.blacklist = []

    def mark_unreachable(self, xy):
        self.blacklist.append((float(xy[0]), float(xy[1])))

    def _blacklisted(self, xy):
        for bx, by in self.blacklist:
            if math.hypot(xy[0] - bx, xy[1] - by) < self.blacklist_radius:
                return True
        return False

    def select(self, grid, costmap, robot_xy, traversable=None):
        """(best Frontier or None, all frontiers). Score = distance - size_weight * size[cells]."""
        frontiers = find_frontiers(grid, costmap, robot_xy, self.min_size, traversable)
        best = None
        best_score = float('inf')
        for f in frontiers:
            if not math.isfinite(f.distance) or self._blacklisted(f.target):
                continue
            score = f.distance - self.size_weight * f.size
            if score < best_score:
                best, best_score = f, score
        return best, frontiers
