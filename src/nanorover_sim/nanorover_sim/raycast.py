"""Vectorised 2-D ray casting against an occupancy grid (all rays advanced together with numpy).

Exact grid traversal (Amanatides & Woo): a ray's distance is where it enters the first occupied
cell, so a wall face at x = 5.0 m is measured at exactly 5.0 - x0 along the x axis.  Rays first jump
ahead through free space with the grid's distance transform when one is given (sphere tracing; a
World carries it as ``clearance``), then walk the cell borders they cross, BATCH x- and y-crossings
per numpy iteration (merged in order; the cell between two crossings is the cell of their midpoint).  Cells outside the grid count as
occupied (the map's edge is a wall); rays that hit nothing within ``max_range`` return ``max_range``.
"""
import math

import numpy as np

# the distance transform is between cell centres; a point may sit half a cell diagonal away from its
# cell centre and the occupied cell reaches half a cell diagonal towards it
_SAFE = math.sqrt(2.0)
#: border crossings per axis examined per iteration of the batched traversal
BATCH = 16


def _occupancy(world_or_grid_occ_bool, info, clearance=None):
    if hasattr(world_or_grid_occ_bool, 'occupied'):
        world = world_or_grid_occ_bool
        occ = world.occupied
        if clearance is None:
            clearance = world.clearance
        info = info if info is not None else world.info
    else:
        occ = np.asarray(world_or_grid_occ_bool)
        if occ.dtype != np.bool_:
            occ = occ != 0  # int8 OccupancyGrid: occupied and unknown both block
    if info is None:
        raise ValueError('cast_rays needs the MapInfo when given a bare grid')
    return occ, clearance, info


def cast_rays(world_or_grid_occ_bool, info, x, y, angles_rad, max_range, with_cells=False,
              clearance=None):
    """Distances (m, float64 array shaped like ``angles_rad``) from (x, y) along world-frame angles
    to the first occupied cell; ``max_range`` where nothing is hit.

    ``world_or_grid_occ_bool``: a World (walls + objects + unknown block) or a 2-D grid (bool
    occupied, or int8 OccupancyGrid where anything non-zero blocks); ``info``: MapInfo (may be None for
    a World).  ``with_cells=True`` returns (distances, rows, cols, nx, ny): the hit cell (-1 for no
    hit) and the unit normal of the cell face the ray entered through (0, 0 for no hit).
    """
    occ, clearance, info = _occupancy(world_or_grid_occ_bool, info, clearance)
    angles = np.asarray(angles_rad, dtype=np.float64)
    shape = angles.shape
    angles = angles.ravel()
    n = angles.size
    rows, cols = occ.shape
    res = float(info.resolution)
    max_range = float(max_range)
    # grid coordinates (in cells) of the start
    gx0 = (float(x) - info.origin[0]) / res
    gy0 = (float(y) - info.origin[1]) / res
    dx = np.cos(angles)
    dy = np.sin(angles)
    out = np.full(n, max_range)
    hit_r = np.full(n, -1, dtype=np.int64)
    hit_c = np.full(n, -1, dtype=np.int64)
    hit_x = np.zeros(n, dtype=bool)  # the hit face is an x = const cell border
    max_t = max_range / res  # in cells
    c0, r0 = int(math.floor(gx0)), int(math.floor(gy0))
    if not (0 <= r0 < rows and 0 <= c0 < cols) or occ[r0, c0]:
        out[:] = 0.0
        hit_r[:], hit_c[:] = r0, c0
        return _ret(out, hit_r, hit_c, hit_x, dx, dy, shape, with_cells)

    t = np.zeros(n)
    idx = np.arange(n)
    if clearance is not None:
        # sphere tracing: advance by the guaranteed free distance (cells) a few times
        clear_cells = clearance / res
        for _ in range(8):
            px = gx0 + t * dx
            py = gy0 + t * dy
            ci = np.clip(px.astype(np.int64), 0, cols - 1)
            ri = np.clip(py.astype(np.int64), 0, rows - 1)
            step = clear_cells[ri, ci] - _SAFE
            step = np.where(step > 0.0, step, 0.0)
            if not step.any():
                break
            t = np.minimum(t + step, max_t)

    # batched DDA: per iteration, every active ray examines its next BATCH x- and y-border
    # crossings at once (merged in order), so the Python loop runs ~cells / BATCH times
    with np.errstate(divide='ignore', invalid='ignore'):
        tdx = np.where(dx != 0.0, np.abs(1.0 / dx), 0.0)
        tdy = np.where(dy != 0.0, np.abs(1.0 / dy), 0.0)
        # t of the first x / y border crossing after the origin (inf: the ray never crosses)
        fx = np.where(dx > 0, np.floor(gx0) + 1.0 - gx0, gx0 - np.floor(gx0))
        fy = np.where(dy > 0, np.floor(gy0) + 1.0 - gy0, gy0 - np.floor(gy0))
        tx0 = np.where(dx != 0.0, fx * tdx, np.inf)
        ty0 = np.where(dy != 0.0, fy * tdy, np.inf)
    # crossings already passed by the sphere-traced start t
    nx_done = np.where(np.isfinite(tx0) & (t > tx0), np.floor((t - tx0) / np.where(tdx > 0, tdx, 1.0)) + 1, 0)
    ny_done = np.where(np.isfinite(ty0) & (t > ty0), np.floor((t - ty0) / np.where(tdy > 0, tdy, 1.0)) + 1, 0)
    steps = np.arange(BATCH, dtype=np.float64)[None, :]
    # kind of border each listed crossing is: 1 = x border, 2 = y border; the batch start takes the
    # kind of the crossing it sits on (0 for the very start)
    kinds = np.concatenate([np.zeros(1), np.ones(BATCH), np.full(BATCH, 2.0)])[None, :]
    start_kind = np.zeros(n)
    while idx.size:
        m = idx.size
        tx = tx0[idx, None] + (nx_done[:, None] + steps) * tdx[idx, None]
        ty = ty0[idx, None] + (ny_done[:, None] + steps) * tdy[idx, None]
        m_star = np.minimum(tx[:, -1], ty[:, -1])   # every crossing before it is listed
        allt = np.concatenate([t[:, None], tx, ty], axis=1)
        order = np.argsort(allt, axis=1, kind='stable')
        T = np.take_along_axis(allt, order, axis=1)
        kind_rows = np.repeat(kinds, m, axis=0)
        kind_rows[:, 0] = start_kind
        kind = np.take_along_axis(kind_rows, order, axis=1)
        # the cell of segment [T_k, T_k+1] is the cell of its midpoint
        with np.errstate(invalid='ignore'):  # inf - inf for rays that never cross one axis
            mid = 0.5 * (T[:, :-1] + T[:, 1:])
            # zero-length segments (a ray through a cell corner) touch no cell
            valid = ((T[:, 1:] <= m_star[:, None]) & np.isfinite(mid) &
                     (T[:, 1:] - T[:, :-1] > 1e-9))
            px = gx0 + mid * dx[idx, None]
            py = gy0 + mid * dy[idx, None]
        ci = np.floor(np.where(valid, px, gx0)).astype(np.int64)
        ri = np.floor(np.where(valid, py, gy0)).astype(np.int64)
        inside = (ri >= 0) & (ri < rows) & (ci >= 0) & (ci < cols)
        blocked = ~inside
        blocked[inside] = occ[ri[inside], ci[inside]]
        blocked &= valid & (T[:, :-1] < max_t)
        beyond = valid & (T[:, :-1] >= max_t)
        hit_any = blocked.any(axis=1)
        k_hit = np.argmax(blocked, axis=1)
        rr = np.arange(m)
        # a ray is done at its first blocked segment, or when it passes max range first
        k_beyond = np.where(beyond.any(axis=1), np.argmax(beyond, axis=1), BATCH * 3)
        hit = hit_any & (k_hit < k_beyond)
        gone = ~hit & ((k_beyond < BATCH * 3) | (m_star >= max_t))
        if hit.any():
            hi = idx[hit]
            kh = k_hit[hit]
            out[hi] = T[rr[hit], kh] * res
            hit_r[hi] = ri[rr[hit], kh]
            hit_c[hi] = ci[rr[hit], kh]
            hit_x[hi] = kind[rr[hit], kh] == 1.0
        keep = ~(hit | gone)
        nx_done = (nx_done + (tx <= m_star[:, None]).sum(axis=1))[keep]
        ny_done = (ny_done + (ty <= m_star[:, None]).sum(axis=1))[keep]
        start_kind = np.where(tx[:, -1] <= ty[:, -1], 1.0, 2.0)[keep]
        t = m_star[keep]
        idx = idx[keep]
    np.minimum(out, max_range, out=out)
    return _ret(out, hit_r, hit_c, hit_x, dx, dy, shape, with_cells)


def _ret(out, hit_r, hit_c, hit_x, dx, dy, shape, with_cells):
    if not with_cells:
        return out.reshape(shape)
    hit = hit_r >= 0
    nx = np.where(hit & hit_x, -np.sign(dx), 0.0)
    ny = np.where(hit & ~hit_x, -np.sign(dy), 0.0)
    return tuple(a.reshape(shape) for a in (out, hit_r, hit_c, nx, ny))


def cast_rays_naive(occ, info, x, y, angles_rad, max_range, step=None):
    """Per-ray Python loop (fixed small steps): the benchmark's baseline and a test oracle."""
    occ = np.asarray(occ)
    if occ.dtype != np.bool_:
        occ = occ != 0
    res = info.resolution
    step = res / 4.0 if step is None else step
    rows, cols = occ.shape
    out = []
    for a in np.asarray(angles_rad, dtype=float).ravel():
        ca, sa = math.cos(a), math.sin(a)
        d = 0.0
        while d < max_range:
            c = int(math.floor((x + d * ca - info.origin[0]) / res))
            r = int(math.floor((y + d * sa - info.origin[1]) / res))
            if r < 0 or r >= rows or c < 0 or c >= cols or occ[r, c]:
                break
            d += step
        out.append(min(d, max_range))
    return np.array(out)

