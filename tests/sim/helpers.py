"""Shared helpers of the simulator tests: small hand-made worlds."""
import numpy as np

from nanorover_common.map_io import MapInfo
from nanorover_sim.world import World, WorldObject, save_world


def box_room(width=4.0, height=3.0, objects=(), start=(0.5, 1.5, 0.0), res=0.05):
    """An empty rectangular room [0, width] x [0, height] with one-cell walls outside it."""
    info = MapInfo(res, (-res, -res, 0.0))
    cols = int(round(width / res)) + 2
    rows = int(round(height / res)) + 2
    grid = np.full((rows, cols), 100, dtype=np.int8)
    grid[1:-1, 1:-1] = 0
    return World('box_room', grid, info, list(objects), start)


def save_box_room(folder, **kw):
    w = box_room(**kw)
    return save_world(str(folder), w.grid, w.info, w.objects, w.start_pose)


def green_box(x, y, size=(0.4, 0.4, 0.4)):
    return WorldObject('box', x, y, 0.0, size, (0, 255, 0))


def box_corners(x, y, size=(0.4, 0.4, 0.4)):
    """The 8 corners (x, y, z) of an axis-aligned box object standing at (x, y)."""
    w, d, h = size
    return [(x + sx * d / 2, y + sy * w / 2, z)
            for sx in (-1, 1) for sy in (-1, 1) for z in (0.0, h)]
