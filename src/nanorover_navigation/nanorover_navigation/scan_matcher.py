"""Multi-resolution correlative scan-to-map matching (Olson 2009) + sub-cell refinement.

ROS-free, numpy/scipy only, Python 3.6 compatible.

* :class:`LikelihoodField` turns reference points (a submap) into a likelihood grid
  ``exp(-d^2 / 2 sigma^2)`` (``d`` = distance to the nearest reference point, from
  ``scipy.ndimage.distance_transform_edt``) plus a coarse, max-pooled copy of it: the coarse
  value of a cell is the maximum of the fine values over the ``factor x factor`` block of
  translations it stands for, so a coarse score is an upper bound of every fine score below it
  (Olson's multi-resolution scheme).
* :func:`correlative_search` evaluates every coarse (theta, x, y) candidate of a search window, then
  refines candidates best-first at full resolution until no remaining coarse bound can beat the
  best fine score (branch and bound: the result equals the exhaustive fine search).
* :func:`refine` polishes the discrete optimum by point-to-line ICP (Gauss-Newton) against the
  reference points themselves, so the result is not limited by the grid's cell size.
* :func:`brute_force_search` is the naive single-resolution exhaustive search (benchmark baseline).
"""
import math

import numpy as np
from scipy.ndimage import distance_transform_edt, maximum_filter
from scipy.spatial import cKDTree

from nanorover_navigation.geometry import transform_points, wrap_angle


def scan_to_points(ranges, angle_min, angle_increment, range_min, range_max,
                   laser_pose=(0.0, 0.0, 0.0), max_use_range=None, beam_motion=None):
    """Valid returns of a planar scan as (N, 2) points in the base frame.

    Non-finite ranges, zeros and readings outside [range_min, range_max] (or beyond
    ``max_use_range``) are dropped, so an all-inf or all-zero scan gives an empty array.
    ``beam_motion`` (n_beams, 3): the base pose when each beam was measured, relative to the
    base pose the scan is referred to (from odometry); the points are de-skewed with it (a G4
    scan lasts ~0.1 s, during which the robot may turn by 0.2 rad).
    """
    r = np.asarray(ranges, dtype=float).ravel()
    if r.size == 0:
        return np.zeros((0, 2))
    hi = range_max if max_use_range is None else min(range_max, max_use_range)
    lo = max(range_min, 1e-3)
    with np.errstate(invalid='ignore'):
        ok = np.isfinite(r) & (r >= lo) & (r <= hi)
    ang = angle_min + angle_increment * np.nonzero(ok)[0] + laser_pose[2]
    rr = r[ok]
    pts = np.empty((rr.size, 2))
    pts[:, 0] = laser_pose[0] + rr * np.cos(ang)
    pts[:, 1] = laser_pose[1] + rr * np.sin(ang)
    if beam_motion is not None:
        m = np.asarray(beam_motion, dtype=float).reshape(-1, 3)
        if len(m) != r.size:
            raise ValueError('beam_motion has %d rows for %d beams' % (len(m), r.size))
        m = m[ok]
        c, s = np.cos(m[:, 2]), np.sin(m[:, 2])
        x = m[:, 0] + c * pts[:, 0] - s * pts[:, 1]
        y = m[:, 1] + s * pts[:, 0] + c * pts[:, 1]
        pts[:, 0] = x
        pts[:, 1] = y
    return pts


def subsample(points, count):
    """At most ``count`` points, evenly spread over the scan order."""
    n = len(points)
    if n <= count or count <= 0:
        return points
    idx = np.linspace(0, n - 1, count).round().astype(int)
    return points[idx]


def voxel_filter(points, cell):
    """One point per ``cell``-sized square (the first one), order preserved."""
    if len(points) == 0:
        return points
    keys = np.floor(points / cell).astype(np.int64)
    keys = keys[:, 0] * 1000003 + keys[:, 1]
    _, first = np.unique(keys, return_index=True)
    return points[np.sort(first)]


class MatchResult(object):
    """Outcome of a match: pose (x, y, yaw), score (mean likelihood in [0, 1]), refined flag."""

    __slots__ = ('pose', 'score', 'coarse_evaluated', 'fine_evaluated', 'rms')

    def __init__(self, pose, score, coarse_evaluated=0, fine_evaluated=0, rms=float('nan')):
        self.pose = np.asarray(pose, dtype=float)
        self.score = float(score)
        self.coarse_evaluated = coarse_evaluated
        self.fine_evaluated = fine_evaluated
        self.rms = rms

    def __repr__(self):
        return 'MatchResult(pose=%s, score=%.3f)' % (np.round(self.pose, 4).tolist(), self.score)


class LikelihoodField(object):
    """Likelihood grids (fine + coarse bound, indexed [ix, iy]) of a reference point set."""

    def __init__(self, points, resolution=0.05, sigma=None, margin=1.0, coarse_factor=4,
                 ):
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(points) == 0:
            raise ValueError('a likelihood field needs at least one reference point')
        self.points = points
        self._tree = None
        self._normals = None
        self.resolution = float(resolution)
        self.sigma = float(sigma) if sigma else 1.5 * self.resolution
        self.coarse_factor = max(1, int(coarse_factor))
        res = self.resolution
        lo = points.min(axis=0) - margin
        hi = points.max(axis=0) + margin
        shape = np.ceil((hi - lo) / res).astype(int) + 1
        self.origin = lo
        self.shape = (int(shape[0]), int(shape[1]))
        idx = np.floor((points - lo) / res).astype(int)
        free = np.ones(self.shape, dtype=bool)
        free[idx[:, 0], idx[:, 1]] = False
        dist = distance_transform_edt(free) * res
        lik = np.exp(-0.5 * (dist / self.sigma) ** 2).astype(np.float32)
        # zero border: out-of-field lookups are clipped onto it
        lik[0, :] = lik[-1, :] = 0.0
        lik[:, 0] = lik[:, -1] = 0.0
        self.likelihood = lik
        self._flat = lik.ravel()
        f = self.coarse_factor
        if f > 1:
            self.coarse = maximum_filter(lik, size=f, origin=-(f // 2), mode='constant', cval=0.0)
        else:
            self.coarse = lik
        self._coarse_flat = self.coarse.ravel()

    def surface(self):
        """KD-tree of the reference points + unit normals and planarity weights (lazy)."""
        if self._tree is None:
            self._tree = cKDTree(self.points)
            k = min(5, len(self.points))
            _, nb = self._tree.query(self.points, k=k)
            nb = np.asarray(nb).reshape(len(self.points), -1)
            q = self.points[nb]                                   # (N, k, 2)
            q = q - q.mean(axis=1, keepdims=True)
            a = np.einsum('nk,nk->n', q[:, :, 0], q[:, :, 0])
            b = np.einsum('nk,nk->n', q[:, :, 0], q[:, :, 1])
            c = np.einsum('nk,nk->n', q[:, :, 1], q[:, :, 1])
            # closed-form 2x2 PCA: principal (tangent) direction, normal perpendicular to it
            phi = 0.5 * np.arctan2(2.0 * b, a - c)
            self._normals = np.stack([-np.sin(phi), np.cos(phi)], axis=1)
            half = np.sqrt((0.5 * (a - c)) ** 2 + b * b)
            lam_max = 0.5 * (a + c) + half
            lam_min = 0.5 * (a + c) - half
            # planarity in [0, 1]: 1 on straight walls, ~0 on corners / isolated points
            self._planarity = 1.0 - np.maximum(lam_min, 0.0) / np.maximum(lam_max, 1e-12)
        return self._tree, self._normals, self._planarity

    def cell_indices(self, pts):
        """Integer cell indices (ix, iy) of world points (unclipped)."""
        u = np.floor((pts[..., 0] - self.origin[0]) / self.resolution).astype(np.int64)
        v = np.floor((pts[..., 1] - self.origin[1]) / self.resolution).astype(np.int64)
        return u, v

    def score(self, pose, pts):
        """Mean likelihood of base-frame points ``pts`` placed at ``pose``."""
        if len(pts) == 0:
            return 0.0
        w = transform_points(pose, pts)
        u, v = self.cell_indices(w)
        nx, ny = self.shape
        u = np.clip(u, 0, nx - 1)
        v = np.clip(v, 0, ny - 1)
        return float(self._flat[u * ny + v].mean())


def _rotated_indices(field, pts, guess, thetas):
    """Cell indices (n_theta, N) of pts rotated by each theta and translated by guess[:2]."""
    c = np.cos(thetas)[:, None]
    s = np.sin(thetas)[:, None]
    x = pts[None, :, 0]
    y = pts[None, :, 1]
    wx = c * x - s * y + guess[0]
    wy = s * x + c * y + guess[1]
    res = field.resolution
    u = np.floor((wx - field.origin[0]) / res).astype(np.int64)
    v = np.floor((wy - field.origin[1]) / res).astype(np.int64)
    return u, v


def _grid_scores(flat, shape, u, v, kx, ky):
    """Sum over points of flat[u + kx, v + ky] for all (theta, kx, ky): (n_theta, Kx, Ky)."""
    nx, ny = shape
    uu = np.clip(u[:, :, None] + kx[None, None, :], 0, nx - 1)   # (T, N, Kx)
    vv = np.clip(v[:, :, None] + ky[None, None, :], 0, ny - 1)   # (T, N, Ky)
    flat_idx = uu[:, :, :, None] * ny + vv[:, :, None, :]        # (T, N, Kx, Ky)
    return flat[flat_idx].sum(axis=1)


def _theta_grid(guess_theta, window, step):
    n = int(math.ceil(window / step - 1e-9)) if window > 0 else 0
    return guess_theta + step * np.arange(-n, n + 1)


def default_theta_step(field, pts):
    """Angular step that moves the far points (90th percentile) by about one cell (clamped to
    0.5..2 deg; the refinement polishes the rest)."""
    if len(pts) == 0:
        return math.radians(1.0)
    far = float(np.percentile(np.hypot(pts[:, 0], pts[:, 1]), 90))
    step = field.resolution / max(far, 1e-6)
    return min(max(step, math.radians(0.5)), math.radians(2.0))


def _block_min_abs(starts, f, n):
    """Smallest |k| over each block [start, start + f - 1] (clipped to n) of the lattice."""
    ends = np.minimum(starts + f - 1, n)
    return np.where((starts <= 0) & (ends >= 0), 0, np.minimum(np.abs(starts), np.abs(ends)))


class _Prior(object):
    """Penalty ``weight * N * ((d / window_xy)^2 + (dtheta / window_theta)^2)`` on the distance
    from the guess: breaks ties towards the prediction where the scan does not constrain the pose
    (a featureless corridor) and costs at most ``weight`` of the best possible mean score."""

    def __init__(self, weight, npts, res, window_xy, thetas, guess_theta, window_theta):
        scale = weight * npts
        self.cxy = scale * res * res / max(window_xy, res) ** 2
        dth = wrap_angle(thetas - guess_theta)
        self.th = scale * (dth / max(window_theta, 1e-9)) ** 2       # (T,)

    def grid(self, t_idx, kx, ky):
        """Penalties (len(t_idx), len(kx), len(ky))."""
        return (self.th[t_idx][:, None, None] +
                self.cxy * (kx[None, :, None] ** 2 + ky[None, None, :] ** 2))


class _Search(object):
    """What both searches set up alike for a non-empty point set: the candidate headings, the
    x/y cell window and the prior."""

    def __init__(self, field, pts, guess, window_xy, window_theta, theta_step, prior_weight):
        if theta_step is None:
            theta_step = default_theta_step(field, pts)
        self.thetas = _theta_grid(guess[2], window_theta, theta_step)
        self.res = field.resolution
        self.n = int(math.ceil(window_xy / self.res - 1e-9))
        self.prior = _Prior(prior_weight, len(pts), self.res, window_xy, self.thetas, guess[2],
                            window_theta)


def correlative_search(field, pts, guess, window_xy, window_theta, theta_step=None,
                       max_candidates=200, prior_weight=0.02):
    """Exact multi-resolution correlative search around ``guess`` (branch and bound).

    Maximises the summed likelihood minus a small distance-from-guess prior (see _Prior).
    Returns a :class:`MatchResult` on the discrete (theta_step, resolution) lattice; its score is
    the mean likelihood of the points (without the prior).
    """
    guess = np.asarray(guess, dtype=float)
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return MatchResult(guess, 0.0)
    s = _Search(field, pts, guess, window_xy, window_theta, theta_step, prior_weight)
    thetas, res, n, prior = s.thetas, s.res, s.n, s.prior
    u, v = _rotated_indices(field, pts, guess, thetas)
    f = field.coarse_factor
    starts = np.arange(-n, n + 1, f)
    near = _block_min_abs(starts, f, n)
    # upper bound per block: max-pooled likelihood minus the block's smallest prior
    coarse = _grid_scores(field._coarse_flat, field.shape, u, v, starts, starts) - \
        prior.grid(np.arange(len(thetas)), near, near)
    order = np.argsort(-coarse, axis=None)
    sub = np.arange(f)
    best = -np.inf
    best_raw = 0.0
    best_idx = (len(thetas) // 2, 0, 0)
    fine_evals = 0
    flat_coarse = coarse.ravel()
    for count, idx in enumerate(order):
        if flat_coarse[idx] <= best or count >= max_candidates:
            break
        t, a, b = np.unravel_index(idx, coarse.shape)
        kx = starts[a] + sub
        ky = starts[b] + sub
        kx = kx[kx <= n]
        ky = ky[ky <= n]
        raw = _grid_scores(field._flat, field.shape, u[t:t + 1], v[t:t + 1], kx, ky)[0]
        fine = raw - prior.grid(np.array([t]), kx, ky)[0]
        fine_evals += fine.size
        j = int(np.argmax(fine))
        val = fine.ravel()[j]
        if val > best:
            best = val
            best_raw = raw.ravel()[j]
            ja, jb = np.unravel_index(j, fine.shape)
            best_idx = (t, kx[ja], ky[jb])
    t, kx, ky = best_idx
    pose = np.array([guess[0] + kx * res, guess[1] + ky * res, wrap_angle(thetas[t])])
    return MatchResult(pose, max(best_raw, 0.0) / len(pts), coarse.size, fine_evals)


def brute_force_search(field, pts, guess, window_xy, window_theta, theta_step=None,
                       prior_weight=0.02):
    """Naive single-resolution exhaustive search of the same objective (benchmark baseline)."""
    guess = np.asarray(guess, dtype=float)
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return MatchResult(guess, 0.0)
    s = _Search(field, pts, guess, window_xy, window_theta, theta_step, prior_weight)
    thetas, res, prior = s.thetas, s.res, s.prior
    ks = np.arange(-s.n, s.n + 1)
    best = -np.inf
    best_raw = 0.0
    best_pose = guess
    for t, th in enumerate(thetas):
        u, v = _rotated_indices(field, pts, guess, np.array([th]))
        raw = _grid_scores(field._flat, field.shape, u, v, ks, ks)[0]
        sc = raw - prior.grid(np.array([t]), ks, ks)[0]
        j = int(np.argmax(sc))
        if sc.ravel()[j] > best:
            best = sc.ravel()[j]
            best_raw = raw.ravel()[j]
            a, b = np.unravel_index(j, sc.shape)
            best_pose = np.array([guess[0] + ks[a] * res, guess[1] + ks[b] * res, wrap_angle(th)])
    return MatchResult(best_pose, best_raw / len(pts), 0, len(thetas) * len(ks) ** 2)


def refine(field, pts, pose, iterations=8, max_distance=None, max_shift=None):
    """Point-to-line ICP (Gauss-Newton) against the field's reference points; returns
    (pose, rms of the inlier point-to-line distances).

    Reference normals come from a PCA of each point's neighbours; pairs farther apart than
    ``max_distance`` (default 3 cells) are outliers. The result never moves more than
    ``max_shift`` (default 2 cells) from ``pose`` -- it polishes a correlative optimum, it does not
    replace the search.
    """
    pose = np.asarray(pose, dtype=float).copy()
    start = pose.copy()
    if len(pts) < 3:
        return pose, float('nan')
    res = field.resolution
    if max_distance is None:
        max_distance = 3.0 * res
    if max_shift is None:
        max_shift = 2.0 * res
    tree, normals, planarity = field.surface()
    rms = float('nan')
    for _ in range(iterations):
        c, s = math.cos(pose[2]), math.sin(pose[2])
        w = transform_points(pose, pts)
        dist, idx = tree.query(w, k=1, distance_upper_bound=max_distance)
        ok = np.isfinite(dist)
        if np.count_nonzero(ok) < 6:
            break
        idx = idx[ok]
        n = normals[idx]
        wt = planarity[idx]
        diff = w[ok] - field.points[idx]
        r = np.einsum('ij,ij->i', diff, n)
        px, py = pts[ok, 0], pts[ok, 1]
        jt = n[:, 0] * (-s * px - c * py) + n[:, 1] * (c * px - s * py)
        J = np.stack([n[:, 0], n[:, 1], jt], axis=1)
        # Huber-like down-weighting of large residuals
        hub = np.minimum(1.0, res / np.maximum(np.abs(r), 1e-9))
        wt = wt * hub
        Jw = J * wt[:, None]
        # weak prior towards the start pose: pins directions the scan leaves unconstrained
        # (corridors) and is negligible against the points elsewhere
        lam = 1e-3 * len(r)
        H = Jw.T.dot(J) + lam * np.diag([1.0, 1.0, 1.0])
        g = Jw.T.dot(r) + lam * np.array([pose[0] - start[0], pose[1] - start[1],
                                          wrap_angle(pose[2] - start[2])])
        try:
            delta = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        pose = pose + delta
        pose[2] = wrap_angle(pose[2])
        rms = float(np.sqrt(np.sum(wt * r * r) / max(np.sum(wt), 1e-12)))
        if abs(delta[0]) < 2e-4 and abs(delta[1]) < 2e-4 and abs(delta[2]) < 2e-4:
            break
    shift = pose[:2] - start[:2]
    dist = math.hypot(shift[0], shift[1])
    if dist > max_shift:
        pose[:2] = start[:2] + shift * (max_shift / dist)
    if abs(wrap_angle(pose[2] - start[2])) > 0.05:
        pose[2] = start[2]
    return pose, rms


class ScanMatcher(object):
    """Correlative search + refinement with fixed settings."""

    def __init__(self, window_xy=0.25, window_theta=0.2, theta_step=None, refine=True,
                 max_candidates=200, prior_weight=0.02):
        self.window_xy = window_xy
        self.window_theta = window_theta
        self.theta_step = theta_step
        self.do_refine = refine
        self.max_candidates = max_candidates
        self.prior_weight = prior_weight

    def match(self, field, pts, guess, window_xy=None, window_theta=None, refine_pts=None):
        """Search with ``pts``; polish with ``refine_pts`` (default: the same points)."""
        wxy = self.window_xy if window_xy is None else window_xy
        wth = self.window_theta if window_theta is None else window_theta
        result = correlative_search(field, pts, guess, wxy, wth, self.theta_step,
                                    self.max_candidates, self.prior_weight)
        if self.do_refine and result.score > 0.0:
            # the refined pose is off the lattice: its grid score is no better measure than the
            # lattice optimum's (cell quantisation), so it is kept whenever ICP converged
            pose, rms = refine(field, pts if refine_pts is None else refine_pts, result.pose)
            if np.isfinite(rms):
                result.pose = pose
                result.rms = rms
        return result
