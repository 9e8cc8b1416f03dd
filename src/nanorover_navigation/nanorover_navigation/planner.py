"""Global planner: cost-aware 8-connected A* on a Costmap, with line-of-sight smoothing (ROS-free).

Step cost between neighbouring cells = step length * (1 + cost_weight * cost / 252): paths keep
away from obstacles when there is room and still squeeze through narrow passages. The octile
distance is an admissible heuristic (every step costs at least its length), so A* returns the
optimal path under that cost. A goal in an occupied / inflated / unknown cell is moved to the
nearest traversable cell within ``goal_tolerance``; otherwise planning fails with the reason.

``grid_distances`` (scipy.sparse.csgraph Dijkstra, uniform costs) gives reachability and plain
shortest grid-path lengths from one cell: the frontier explorer and the benchmark's baseline use it.
"""
import heapq
import math

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from nanorover_navigation.costmap import INSCRIBED, MAX_INFLATED, NO_INFORMATION

SQRT2 = math.sqrt(2.0)
# (drow, dcol, length in cells)
_NEIGHBOURS = ((-1, -1, SQRT2), (-1, 0, 1.0), (-1, 1, SQRT2), (0, -1, 1.0), (0, 1, 1.0),
               (1, -1, SQRT2), (1, 0, 1.0), (1, 1, SQRT2))


class PlanResult(object):
    """Outcome of a planning request: ``ok``; ``path`` (N, 2) world points from start to goal;
    ``cells`` (N, 2) [row, col]; ``length`` [m]; ``goal`` the (possibly moved) goal (x, y);
    ``reason`` why it failed (or a note, e.g. that the goal was moved); ``expanded`` nodes."""

    __slots__ = ('ok', 'path', 'cells', 'length', 'goal', 'reason', 'expanded')

    def __init__(self, ok, path=None, cells=None, goal=None, reason='', expanded=0):
        self.ok = ok
        self.path = path if path is not None else np.zeros((0, 2))
        self.cells = cells if cells is not None else np.zeros((0, 2), dtype=int)
        self.goal = goal
        self.reason = reason
        self.expanded = expanded
        self.length = path_length(self.path)


def path_length(path):
    path = np.asarray(path, dtype=float).reshape(-1, 2)
    if path.shape[0] < 2:
        return 0.0
    return float(np.sum(np.hypot(np.diff(path[:, 0]), np.diff(path[:, 1]))))


def nearest_traversable(mask, row, col, max_cells):
    """Nearest True cell of ``mask`` to (row, col) within ``max_cells``; None if there is none."""
    rows, cols = mask.shape
    r0, r1 = max(0, row - max_cells), min(rows, row + max_cells + 1)
    c0, c1 = max(0, col - max_cells), min(cols, col + max_cells + 1)
    if r0 >= r1 or c0 >= c1:
        return None
    rr, cc = np.nonzero(mask[r0:r1, c0:c1])
    if rr.size == 0:
        return None
    d2 = (rr + r0 - row) ** 2 + (cc + c0 - col) ** 2
    i = int(np.argmin(d2))
    if d2[i] > max_cells * max_cells:
        return None
    return int(rr[i] + r0), int(cc[i] + c0)


class AStarPlanner(object):
    """A* on a Costmap. ``plan(start_xy, goal_xy)`` -> PlanResult."""

    def __init__(self, cost_weight=2.0, goal_tolerance=0.5, allow_unknown=False, smooth=True,
                 max_expansions=2000000, max_cost=INSCRIBED - 1):
        self.max_cost = int(max_cost)
        self.cost_weight = float(cost_weight)
        self.goal_tolerance = float(goal_tolerance)
        self.allow_unknown = bool(allow_unknown)
        self.smooth = bool(smooth)
        self.max_expansions = int(max_expansions)

    def step_factors(self, costmap, trav):
        """Per-cell multiplier (float array) of the step length; inf where not ``trav``."""
        costs = costmap.costs.astype(float)
        factor = 1.0 + self.cost_weight * np.minimum(costs, MAX_INFLATED) / MAX_INFLATED
        factor[costmap.costs == NO_INFORMATION] = 1.0 + self.cost_weight * 0.5
        factor[~trav] = np.inf
        return factor

    def traversable(self, costmap, max_cost=None):
        """Cells paths may use: cost <= max_cost (a margin above the controller's hard limit, so
        that a path is never squeezed where the robot cannot follow it) or unknown if allowed."""
        return costmap.traversable(self.allow_unknown,
                                   self.max_cost if max_cost is None else max_cost)

    def plan(self, costmap, start_xy, goal_xy, allow_tight=True):
        """Plan keeping the max_cost margin; where that fails and ``allow_tight``, through tighter
        passages (any cell the robot's disc fits, cost < 253)."""
        res = self._plan(costmap, start_xy, goal_xy, self.max_cost)
        if not res.ok and allow_tight and self.max_cost < INSCRIBED - 1:
            tight = self._plan(costmap, start_xy, goal_xy, INSCRIBED - 1)
            if tight.ok:
                tight.reason = ('through a tight passage; ' + tight.reason).rstrip('; ')
                return tight
        return res

    def _plan(self, costmap, start_xy, goal_xy, max_cost):
        res = costmap.resolution
        trav = self.traversable(costmap, max_cost)
        sr, sc = [int(v) for v in costmap.world_to_cell(start_xy[0], start_xy[1])]
        gr, gc = [int(v) for v in costmap.world_to_cell(goal_xy[0], goal_xy[1])]
        if not costmap.in_bounds(sr, sc):
            return PlanResult(False, reason='start (%.2f, %.2f) is outside the map'
                              % (start_xy[0], start_xy[1]))
        if not costmap.in_bounds(gr, gc):
            return PlanResult(False, reason='goal (%.2f, %.2f) is outside the map'
                              % (goal_xy[0], goal_xy[1]))
        note = ''
        if not trav[sr, sc]:
            # the robot may stand inside the inflated band (e.g. after a recovery): start from
            # the nearest traversable cell within one robot radius
            moved = nearest_traversable(trav, sr, sc,
                                        int(math.ceil(costmap.inscribed_radius / res)))
            if moved is None:
                return PlanResult(False, reason='start (%.2f, %.2f) is in collision (cost %d)'
                                  % (start_xy[0], start_xy[1], costmap.costs[sr, sc]))
            sr, sc = moved
        if not (costmap.costs[gr, gc] <= max_cost):
            known_free = costmap.costs <= max_cost
            moved = nearest_traversable(known_free, gr, gc,
                                        int(math.floor(self.goal_tolerance / res)))
            if moved is None:
                what = ('unknown' if costmap.costs[gr, gc] == NO_INFORMATION
                        else 'occupied' if costmap.costs[gr, gc] > INSCRIBED
                        else 'too close to an obstacle')
                return PlanResult(False, reason='goal (%.2f, %.2f) is %s and no free cell is '
                                  'within %.2f m' % (goal_xy[0], goal_xy[1], what,
                                                     self.goal_tolerance))
            gr, gc = moved
            gx, gy = costmap.cell_to_world(gr, gc)
            note = 'goal moved to the nearest free cell (%.2f, %.2f)' % (gx, gy)
        factor = self.step_factors(costmap, trav)
        cells, expanded = self._astar(factor, (sr, sc), (gr, gc))
        if cells is None:
            return PlanResult(False, reason='no path from (%.2f, %.2f) to (%.2f, %.2f): goal '
                              'unreachable' % (start_xy[0], start_xy[1], goal_xy[0], goal_xy[1]),
                              expanded=expanded)
        if self.smooth:
            cells = self.shortcut(factor, cells)
        xs, ys = costmap.cell_to_world(cells[:, 0], cells[:, 1])
        path = _densify(np.stack([xs, ys], axis=1), res)
        path[0] = (float(start_xy[0]), float(start_xy[1]))
        rows, cols = costmap.world_to_cell(path[:, 0], path[:, 1])
        return PlanResult(True, path=path, cells=np.stack([rows, cols], axis=1),
                          goal=(float(path[-1, 0]), float(path[-1, 1])), reason=note,
                          expanded=expanded)

    def _astar(self, factor, start, goal):
        rows, cols = factor.shape
        fac = factor.ravel().tolist()
        s = start[0] * cols + start[1]
        g = goal[0] * cols + goal[1]
        gr, gc = goal
        INF = float('inf')
        best = {s: 0.0}
        parent = {s: -1}
        closed = set()
        heap = [(0.0, 0.0, s)]
        nbrs = [(dr * cols + dc, dr, dc, ln) for dr, dc, ln in _NEIGHBOURS]
        expanded = 0
        push = heapq.heappush
        pop = heapq.heappop
        while heap:
            _, gcost, cur = pop(heap)
            if cur in closed:
                continue
            if cur == g:
                break
            closed.add(cur)
            expanded += 1
            if expanded > self.max_expansions:
                return None, expanded
            r, c = divmod(cur, cols)
            for off, dr, dc, ln in nbrs:
                nr = r + dr
                nc = c + dc
                if nr < 0 or nr >= rows or nc < 0 or nc >= cols:
                    continue
                n = cur + off
                f = fac[n]
                if f == INF or n in closed:
                    continue
                if dr and dc and (fac[cur + dr * cols] == INF or fac[cur + dc] == INF):
                    continue  # no corner cutting past an untraversable cell
                ng = gcost + ln * 0.5 * (fac[cur] + f)
                if ng < best.get(n, INF):
                    best[n] = ng
                    parent[n] = cur
                    ar = abs(gr - nr)
                    ac = abs(gc - nc)
                    h = (ar + ac) + (SQRT2 - 2.0) * min(ar, ac)
                    push(heap, (ng + h, ng, n))
        else:
            return None, expanded
        out = []
        cur = g
        while cur != -1:
            out.append(divmod(cur, cols))
            cur = parent[cur]
        out.reverse()
        return np.array(out, dtype=int), expanded

    def shortcut(self, factor, cells):
        """Greedy line-of-sight smoothing: replace a stretch of the grid path by the straight line
        between its ends when the line is no more expensive under the planner's cost (step
        length x cost factor) than the stretch; returns the waypoint cells."""
        n = cells.shape[0]
        if n <= 2:
            return cells
        f = factor[cells[:, 0], cells[:, 1]]
        steps = np.hypot(np.diff(cells[:, 0]), np.diff(cells[:, 1])) * 0.5 * (f[1:] + f[:-1])
        g = np.concatenate([[0.0], np.cumsum(steps)])
        out = [0]
        i = 0
        while i < n - 1:
            best = i + 1
            j = i + 2
            while j < n:
                if _line_cost(factor, cells[i], cells[j]) > g[j] - g[i] + 1e-9:
                    break
                best = j
                j += 1
            out.append(best)
            i = best
        return cells[out]


def _line_cost(factor, a, b):
    """Cost of the straight segment between cell centres a and b: length x mean factor of the
    cells it crosses (sampled every half cell); inf if it crosses an untraversable cell."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    n = int(math.ceil(2.0 * length)) + 1
    t = np.linspace(0.0, 1.0, n)
    r = np.floor(a[0] + (b[0] - a[0]) * t + 0.5).astype(int)
    c = np.floor(a[1] + (b[1] - a[1]) * t + 0.5).astype(int)
    f = factor[r, c]
    return float(length * f.mean())


def _densify(points, step):
    """Waypoints (N, 2) -> points every <= ``step`` along the straight segments."""
    out = [points[:1]]
    for k in range(1, points.shape[0]):
        a, b = points[k - 1], points[k]
        n = max(1, int(math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / step)))
        t = (np.arange(1, n + 1) / float(n))[:, None]
        out.append(a + (b - a) * t)
    return np.concatenate(out, axis=0)


def grid_distances(mask, start_cell, resolution=1.0):
    """Shortest 8-connected path lengths (uniform cost, no corner cutting) from ``start_cell``
    to every cell of bool ``mask`` (traversable cells); inf where unreachable. scipy Dijkstra."""
    rows, cols = mask.shape
    if not mask[int(start_cell[0]), int(start_cell[1])]:
        return np.full(mask.shape, np.inf)
    idx = np.arange(rows * cols).reshape(rows, cols)
    src, dst, w = [], [], []
    for dr, dc, ln in _NEIGHBOURS:
        a = mask[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)]
        b = mask[max(0, dr):rows - max(0, -dr) or None, max(0, dc):cols - max(0, -dc) or None]
        ok = a & b
        if dr and dc:
            # both orthogonal neighbours must be traversable (no corner cutting)
            m1 = mask[max(0, dr):rows - max(0, -dr) or None, max(0, -dc):cols - max(0, dc)]
            m2 = mask[max(0, -dr):rows - max(0, dr), max(0, dc):cols - max(0, -dc) or None]
            ok = ok & m1 & m2
        ia = idx[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)][ok]
        ib = idx[max(0, dr):rows - max(0, -dr) or None, max(0, dc):cols - max(0, -dc) or None][ok]
        src.append(ia)
        dst.append(ib)
        w.append(np.full(ia.shape, ln * resolution))
    graph = sparse.csr_matrix((np.concatenate(w), (np.concatenate(src), np.concatenate(dst))),
                              shape=(rows * cols, rows * cols))
    start = int(start_cell[0]) * cols + int(start_cell[1])
    dist = csgraph.dijkstra(graph, directed=True, indices=start)
    return dist.reshape(rows, cols)
