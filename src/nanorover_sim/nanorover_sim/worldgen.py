"""Generator of the shipped worlds (room, office, hall). The generated files are committed.

    python -m nanorover_sim.worldgen [OUT_DIR]      # default: the package's worlds/ folder

Maps are drawn in metres: every cell whose centre lies inside a drawn rectangle takes its value, so a
wall face at x = 5.0 is exactly at 5.0 in the grid (resolution 0.05 m).  Outside the outer walls the
map is unknown (-1), as a map_server map of a real building would be.
"""
import os
import sys

import numpy as np

from nanorover_common.map_io import MapInfo
from nanorover_sim.world import DEFAULT_SIZES, WorldObject, save_world

RES = 0.05
WALL = 0.10
FREE, OCC, UNKNOWN = 0, 100, -1


class Canvas(object):
    """A grid in metres: interior [0, w] x [0, h] plus a margin; rectangles set cell values."""

    def __init__(self, width, height, margin=0.4):
        self.info = MapInfo(RES, (-margin, -margin, 0.0))
        cols = int(round((width + 2 * margin) / RES))
        rows = int(round((height + 2 * margin) / RES))
        self.grid = np.full((rows, cols), UNKNOWN, dtype=np.int8)
        self.xc = self.info.origin[0] + (np.arange(cols) + 0.5) * RES
        self.yc = self.info.origin[1] + (np.arange(rows) + 0.5) * RES

    def rect(self, x0, y0, x1, y1, value):
        cs = (self.xc > min(x0, x1)) & (self.xc < max(x0, x1))
        rs = (self.yc > min(y0, y1)) & (self.yc < max(y0, y1))
        self.grid[np.ix_(rs, cs)] = value

    def room(self, x0, y0, x1, y1):
        """Free interior [x0,x1]x[y0,y1] enclosed by WALL-thick walls outside it."""
        self.rect(x0 - WALL, y0 - WALL, x1 + WALL, y1 + WALL, OCC)
        self.rect(x0, y0, x1, y1, FREE)

    def hwall(self, y, x0, x1):
        """Horizontal wall with its lower face at y... centred on y (thickness WALL)."""
        self.rect(x0, y - WALL / 2, x1, y + WALL / 2, OCC)

    def vwall(self, x, y0, y1):
        self.rect(x - WALL / 2, y0, x + WALL / 2, y1, OCC)

    def door_h(self, y, xc, width=0.9):
        self.rect(xc - width / 2, y - WALL, xc + width / 2, y + WALL, FREE)

    def door_v(self, x, yc, width=0.9):
        self.rect(x - WALL, yc - width / 2, x + WALL, yc + width / 2, FREE)

    def block(self, x0, y0, x1, y1):
        self.rect(x0, y0, x1, y1, OCC)


def obj(cls, x, y, yaw, color, size=None):
    return WorldObject(cls, x, y, yaw, size or DEFAULT_SIZES[cls], color)


def make_room():
    """5 x 4 m empty room, objects along the walls; from the start (1, 1.5) the rays along +-x and +-y
    reach the walls (5 - x, 2.5 left, 1.5 right, x back: asymmetric, so a mirrored scan shows)."""
    c = Canvas(5.0, 4.0)
    c.room(0.0, 0.0, 5.0, 4.0)
    objects = [
        obj('person', 3.6, 3.3, -2.0, (40, 40, 200)),        # red shirt
        obj('chair', 4.3, 0.7, 2.4, (30, 120, 30)),          # green
        obj('box', 2.2, 0.5, 0.3, (70, 130, 180)),           # cardboard
        obj('cone', 0.6, 3.4, 0.0, (0, 120, 255)),           # orange
        obj('person', 4.4, 2.7, 3.1, (180, 80, 30)),         # blue shirt
    ]
    return c, objects, (1.0, 1.5, 0.0)


def make_office():
    """14 x 10 m office: a corridor LOOP around a solid central block, six rooms off the loop."""
    c = Canvas(14.0, 10.0)
    c.room(0.0, 0.0, 14.0, 10.0)
    # corridor loop: between x 3..11, y 2..8, around the block x 4.6..9.4, y 3.6..6.4
    c.block(4.6, 3.6, 9.4, 6.4)
    # west rooms x 0..3 (split at y 5), east rooms x 11..14 (split at y 5)
    c.vwall(3.0, 0.0, 10.0)
    c.vwall(11.0, 0.0, 10.0)
    c.hwall(5.0, 0.0, 3.0)
    c.hwall(5.0, 11.0, 14.0)
    # north room y 8..10 and south room y 0..2 between x 3 and 11 (split in two each)
    c.hwall(8.0, 3.0, 11.0)
    c.hwall(2.0, 3.0, 11.0)
    c.vwall(7.0, 8.0, 10.0)
    c.vwall(7.0, 0.0, 2.0)
    # doors
    c.door_v(3.0, 2.8)
    c.door_v(3.0, 7.2)
    c.door_v(11.0, 2.8)
    c.door_v(11.0, 7.2)
    c.door_h(8.0, 5.0)
    c.door_h(8.0, 9.0)
    c.door_h(2.0, 5.0)
    c.door_h(2.0, 9.0)
    # furniture: desks in rooms (static map clutter)
    c.block(0.4, 0.4, 1.6, 1.1)
    c.block(12.4, 8.9, 13.6, 9.6)
    c.block(0.4, 8.9, 1.2, 9.6)
    objects = [
        obj('person', 7.0, 2.8, 1.2, (40, 40, 200)),
        obj('person', 1.8, 7.8, -0.6, (160, 60, 40)),
        obj('person', 12.6, 2.0, 2.5, (40, 160, 160)),
        obj('chair', 1.0, 1.5, 1.57, (30, 110, 30)),
        obj('chair', 12.8, 8.4, -1.57, (120, 40, 120)),
        obj('chair', 5.2, 9.3, 0.2, (90, 90, 30)),
        obj('box', 10.2, 7.5, 0.4, (70, 130, 180)),
        obj('box', 8.8, 0.8, 0.0, (60, 100, 150)),
        obj('box', 2.4, 4.4, 0.8, (90, 150, 200)),
        obj('cone', 3.6, 5.0, 0.0, (0, 120, 255)),
        obj('cone', 10.4, 4.0, 0.0, (20, 90, 240)),
        obj('cone', 13.4, 4.6, 0.0, (10, 140, 250)),
    ]
    return c, objects, (3.8, 2.8, 0.0)


def make_hall():
    """12 x 9 m hall with a 3 x 2 grid of pillars, crates (static) and many objects."""
    c = Canvas(12.0, 9.0)
    c.room(0.0, 0.0, 12.0, 9.0)
    for px in (3.0, 6.0, 9.0):
        for py in (3.0, 6.0):
            c.block(px - 0.25, py - 0.25, px + 0.25, py + 0.25)
    # static crates / shelves
    c.block(0.3, 7.6, 2.2, 8.7)
    c.block(10.6, 0.3, 11.7, 1.8)
    c.block(5.2, 8.2, 6.8, 8.7)
    c.block(7.6, 0.3, 8.1, 1.0)
    objects = [
        obj('person', 4.5, 4.5, 0.0, (40, 40, 200)),
        obj('person', 10.5, 7.5, -2.3, (170, 90, 40)),
        obj('person', 1.5, 1.6, 0.8, (50, 170, 60)),
        obj('chair', 7.5, 7.0, 3.0, (30, 110, 30)),
        obj('chair', 2.0, 5.0, -0.7, (140, 60, 150)),
        obj('box', 6.8, 2.2, 0.5, (70, 130, 180)),
        obj('box', 3.8, 7.6, 0.0, (60, 100, 150)),
        obj('box', 10.0, 4.6, 1.0, (100, 160, 210)),
        obj('box', 9.3, 2.0, 0.2, (50, 90, 130)),
        obj('cone', 7.5, 4.5, 0.0, (0, 120, 255)),
        obj('cone', 4.5, 1.2, 0.0, (20, 90, 240)),
        obj('cone', 11.3, 3.2, 0.0, (10, 140, 250)),
    ]
    return c, objects, (1.2, 4.5, 0.0)


WORLDS = {'room': make_room, 'office': make_office, 'hall': make_hall}


def generate(out_dir):
    for name, make in sorted(WORLDS.items()):
        canvas, objects, start = make()
        save_world(os.path.join(out_dir, name), canvas.grid, canvas.info, objects, start)
    return sorted(WORLDS)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    default = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), 'worlds')
    out = argv[0] if argv else default
    for name in generate(out):
        print('wrote %s' % os.path.join(out, name))
    return 0


if __name__ == '__main__':
    sys.exit(main())
