"""Simulator worlds: a map_server occupancy map (PGM + YAML) plus detectable objects.

A world is a folder ``<name>/`` holding ``map.yaml`` + ``map.pgm`` (map_server format, read with
nanorover_common.map_io) and ``objects.yaml``::

    start_pose: [1.0, 2.0, 0.0]        # x, y, yaw of base_footprint in the world frame
    wall_height: 2.4                   # optional, m (camera renderer)
    wall_color: [170, 180, 190]        # optional, b, g, r
    floor_color: [110, 125, 135]       # optional
    objects:
      - {cls: person, x: 3.0, y: 1.0, yaw: 0.5, size: [0.5, 0.3, 1.7], color: [40, 40, 200]}

Shipped worlds live in share/nanorover_sim/worlds (or the source tree when not installed); a user adds
worlds by dropping such folders into a directory listed in $NANOROVER_WORLDS (colon-separated) or
into ~/.nanorover/worlds.

Frames: the world frame is the map frame of the map file (origin from map.yaml).  Grid convention is
nav_msgs/OccupancyGrid: ``grid[row, col]``, row 0 at the origin (lowest y), 0 free, 100 occupied,
-1 unknown.  For the robot and the sensors, unknown cells and object footprints are obstacles.
"""
import math
import os

import numpy as np
import yaml
from scipy import ndimage

from nanorover_common.map_io import MapError, MapInfo, read_map  # noqa: F401 (MapInfo re-export)
from nanorover_common.yamlfile import load_yaml

CLASSES = ('person', 'chair', 'box', 'cone')

#: nominal sizes (w across, d deep, h tall) in metres, used when objects.yaml gives none
DEFAULT_SIZES = {
    'person': (0.5, 0.3, 1.7),
    'chair': (0.45, 0.45, 0.9),
    'box': (0.4, 0.4, 0.4),
    'cone': (0.3, 0.3, 0.5),
}
DEFAULT_COLORS = {
    'person': (60, 60, 190),
    'chair': (40, 90, 40),
    'box': (60, 120, 170),
    'cone': (20, 110, 240),
}

_PACKAGE = 'nanorover_sim'


class WorldError(ValueError):
    """A world is missing or malformed; the message names the file and the problem."""


class WorldObject(object):
    """A detectable object: class name, pose on the floor, size (w, d, h) m, colour (b, g, r)."""

    __slots__ = ('cls', 'x', 'y', 'yaw', 'size', 'color')

    def __init__(self, cls, x, y, yaw=0.0, size=None, color=None):
        if cls not in CLASSES:
            raise WorldError('unknown object class %r (one of %s)' % (cls, ', '.join(CLASSES)))
        self.cls = cls
        self.x = float(x)
        self.y = float(y)
        self.yaw = float(yaw)
        size = DEFAULT_SIZES[cls] if size is None else size
        if len(size) != 3 or min(float(s) for s in size) <= 0:
            raise WorldError('object %s: size must be three positive numbers (w, d, h), got %r'
                             % (cls, size))
        self.size = tuple(float(s) for s in size)
        color = DEFAULT_COLORS[cls] if color is None else color
        if len(color) != 3:
            raise WorldError('object %s: color must be (b, g, r), got %r' % (cls, color))
        self.color = tuple(int(np.clip(c, 0, 255)) for c in color)

    @property
    def cls_id(self):
        return CLASSES.index(self.cls)

    def footprint(self):
        """4x2 array: the corners of the footprint rectangle in the world frame (CCW)."""
        w, d = self.size[0], self.size[1]
        # d along the object's x (facing direction), w across
        local = np.array([[d / 2, w / 2], [-d / 2, w / 2], [-d / 2, -w / 2], [d / 2, -w / 2]])
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        rot = np.array([[c, -s], [s, c]])
        return local.dot(rot.T) + np.array([self.x, self.y])

    def to_dict(self):
        return {'cls': self.cls, 'x': self.x, 'y': self.y, 'yaw': self.yaw,
                'size': list(self.size), 'color': list(self.color)}

    def __repr__(self):
        return 'WorldObject(%r, %.2f, %.2f, %.2f)' % (self.cls, self.x, self.y, self.yaw)


class World(object):
    """Loaded world. Attributes: name, path, grid (int8), info (MapInfo), objects, start_pose,
    wall_height, wall_color, floor_color; derived: ``occupied`` (bool grid: walls, unknown and object
    footprints), ``clearance`` (metres from each cell centre to the nearest occupied cell centre)."""

    def __init__(self, name, grid, info, objects=(), start_pose=(0.0, 0.0, 0.0), path=None,
                 wall_height=2.4, wall_color=(175, 185, 195), floor_color=(105, 120, 130)):
        self.name = name
        self.path = path
        self.grid = np.asarray(grid, dtype=np.int8)
        if self.grid.ndim != 2 or self.grid.size == 0:
            raise WorldError('world %s: empty or non-2-D grid' % name)
        self.info = info
        self.objects = list(objects)
        self.start_pose = tuple(float(v) for v in start_pose)
        self.wall_height = float(wall_height)
        self.wall_color = tuple(int(c) for c in wall_color)
        self.floor_color = tuple(int(c) for c in floor_color)
        self.walls = self.grid != 0                     # walls + unknown (the static map)
        self.occupied = self.walls | self.object_mask()  # what the robot and the lidar hit
        # distance (m) from every cell centre to the nearest occupied cell centre
        self.clearance = ndimage.distance_transform_edt(~self.occupied) * info.resolution

    # -- geometry helpers --------------------------------------------------------------------
    @property
    def shape(self):
        return self.grid.shape

    @property
    def size_m(self):
        rows, cols = self.grid.shape
        return cols * self.info.resolution, rows * self.info.resolution

    def world_to_cell(self, x, y):
        """(row, col) integer arrays (or ints) of the cells holding world points x, y."""
        res = self.info.resolution
        col = np.floor((np.asarray(x) - self.info.origin[0]) / res).astype(int)
        row = np.floor((np.asarray(y) - self.info.origin[1]) / res).astype(int)
        return row, col

    def cell_center(self, row, col):
        res = self.info.resolution
        return (self.info.origin[0] + (col + 0.5) * res, self.info.origin[1] + (row + 0.5) * res)

    def object_mask(self):
        """bool grid of the cells whose centre lies inside an object's footprint."""
        mask = np.zeros(self.grid.shape, dtype=bool)
        res = self.info.resolution
        ox, oy = self.info.origin[0], self.info.origin[1]
        rows, cols = self.grid.shape
        for obj in self.objects:
            fp = obj.footprint()
            c0 = max(int(math.floor((fp[:, 0].min() - ox) / res)) - 1, 0)
            c1 = min(int(math.ceil((fp[:, 0].max() - ox) / res)) + 1, cols)
            r0 = max(int(math.floor((fp[:, 1].min() - oy) / res)) - 1, 0)
            r1 = min(int(math.ceil((fp[:, 1].max() - oy) / res)) + 1, rows)
            if c0 >= c1 or r0 >= r1:
                continue
            xs = ox + (np.arange(c0, c1) + 0.5) * res
            ys = oy + (np.arange(r0, r1) + 0.5) * res
            gx, gy = np.meshgrid(xs, ys)
            # inside the rotated rectangle: project on the object's axes
            c, s = math.cos(obj.yaw), math.sin(obj.yaw)
            dx, dy = gx - obj.x, gy - obj.y
            along = dx * c + dy * s
            across = -dx * s + dy * c
            inside = (np.abs(along) <= obj.size[1] / 2) & (np.abs(across) <= obj.size[0] / 2)
            mask[r0:r1, c0:c1] |= inside
        return mask

    def is_free(self, x, y, radius=0.0):
        """True when a disc of ``radius`` m at (x, y) touches no occupied cell (walls, unknown,
        objects) and lies inside the map. Works on scalars or arrays."""
        row, col = self.world_to_cell(x, y)
        rows, cols = self.grid.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        rr = np.clip(row, 0, rows - 1)
        cc = np.clip(col, 0, cols - 1)
        # clearance is measured between cell centres: subtract half a cell for the occupied cell's
        # extent and half a cell diagonal for the point's offset from its own cell centre
        margin = self.info.resolution * (0.5 + math.sqrt(0.5))
        free = inside & (self.clearance[rr, cc] - margin >= radius) & ~self.occupied[rr, cc]
        if np.ndim(free) == 0:
            return bool(free)
        return free

    def random_free_pose(self, rng, radius=0.2, max_tries=10000):
        """A uniformly drawn pose (x, y, yaw) where a disc of ``radius`` is free (numpy Generator)."""
        ox, oy = self.info.origin[0], self.info.origin[1]
        sx, sy = self.size_m
        for _ in range(max_tries):
            x, y = ox + rng.uniform(0, sx), oy + rng.uniform(0, sy)
            if self.is_free(x, y, radius):
                return (float(x), float(y), float(rng.uniform(-math.pi, math.pi)))
        raise WorldError('world %s: no free pose for radius %.2f m' % (self.name, radius))

    def __repr__(self):
        return 'World(%r, %dx%d cells, %d objects)' % (self.name, self.grid.shape[1],
                                                       self.grid.shape[0], len(self.objects))


# -- discovery ---------------------------------------------------------------------------------
def shipped_worlds_dir():
    """share/nanorover_sim/worlds when installed, else the source tree's worlds/ folder."""
    try:
        from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
        try:
            d = os.path.join(get_package_share_directory(_PACKAGE), 'worlds')
            if os.path.isdir(d):
                return d
        except (PackageNotFoundError, ValueError, KeyError, EnvironmentError):
            pass
    except ImportError:
        pass
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), 'worlds')


def world_search_path():
    """Directories searched for worlds, in priority order: shipped, $NANOROVER_WORLDS, ~/.nanorover."""
    dirs = [shipped_worlds_dir()]
    for d in os.environ.get('NANOROVER_WORLDS', '').split(':'):
        if d.strip():
            dirs.append(os.path.expanduser(d.strip()))
    dirs.append(os.path.expanduser('~/.nanorover/worlds'))
    return dirs


def _is_world_dir(path):
    return os.path.isfile(os.path.join(path, 'map.yaml'))


def list_worlds():
    """Names of all available worlds (shipped first; a user world never shadows a shipped one)."""
    names = []
    for d in world_search_path():
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name not in names and _is_world_dir(os.path.join(d, name)):
                names.append(name)
    return names


def find_world(name_or_path):
    """Folder of a world given its name or a path (folder or its map.yaml)."""
    p = os.path.expanduser(str(name_or_path))
    if os.path.isfile(p) and p.endswith(('.yaml', '.yml')):
        return os.path.dirname(os.path.abspath(p))
    if os.path.isdir(p) and _is_world_dir(p):
        return os.path.abspath(p)
    if os.sep not in p:
        for d in world_search_path():
            cand = os.path.join(d, p)
            if _is_world_dir(cand):
                return cand
    raise WorldError('world %r not found (no %s/map.yaml); available: %s' % (
        name_or_path, name_or_path, ', '.join(list_worlds()) or 'none'))


def _floats(value, n, what, path):
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        raise WorldError('%s: %s must be %d numbers, got %r' % (path, what, n, value))
    if len(out) != n:
        raise WorldError('%s: %s must be %d numbers, got %r' % (path, what, n, value))
    return out


def load_world(name_or_path):
    """Load a world by name (searched in world_search_path()) or folder/map.yaml path."""
    folder = find_world(name_or_path)
    name = os.path.basename(os.path.normpath(folder))
    try:
        grid, info = read_map(os.path.join(folder, 'map.yaml'))
    except MapError as exc:
        raise WorldError('world %s: %s' % (name, exc))
    meta = {}
    obj_path = os.path.join(folder, 'objects.yaml')
    if os.path.isfile(obj_path):
        meta = load_yaml(obj_path, WorldError, 'world objects') or {}
        if not isinstance(meta, dict):
            raise WorldError('%s: expected a mapping with start_pose/objects' % obj_path)
    objects = []
    for i, entry in enumerate(meta.get('objects') or []):
        if not isinstance(entry, dict) or 'cls' not in entry or 'x' not in entry or 'y' not in entry:
            raise WorldError('%s: object %d needs at least cls, x, y: %r' % (obj_path, i, entry))
        try:
            objects.append(WorldObject(entry['cls'], entry['x'], entry['y'], entry.get('yaw', 0.0),
                                       entry.get('size'), entry.get('color')))
        except WorldError as exc:
            raise WorldError('%s: object %d: %s' % (obj_path, i, exc))
        except (TypeError, ValueError) as exc:
            raise WorldError('%s: object %d: bad value (%s)' % (obj_path, i, exc))
    if 'start_pose' in meta:
        start = _floats(meta['start_pose'], 3, 'start_pose', obj_path)
    else:
        # default: the free cell with the most clearance
        start = None
    kwargs = {}
    for key in ('wall_color', 'floor_color'):
        if key in meta:
            kwargs[key] = _floats(meta[key], 3, key, obj_path)
    if 'wall_height' in meta:
        kwargs['wall_height'] = _floats([meta['wall_height']], 1, 'wall_height', obj_path)[0]
    world = World(name, grid, info, objects, start or (0.0, 0.0, 0.0), path=folder, **kwargs)
    if start is None:
        r, c = np.unravel_index(np.argmax(world.clearance), world.clearance.shape)
        world.start_pose = tuple(world.cell_center(r, c)) + (0.0,)
    return world


def save_world(folder, grid, info, objects, start_pose, **extra):
    """Write a world folder (map.pgm/map.yaml via map_io + objects.yaml); returns the folder."""
    from nanorover_common.map_io import write_map
    if not os.path.isdir(folder):
        os.makedirs(folder)
    write_map(os.path.join(folder, 'map'), grid, info)
    meta = {'start_pose': [float(v) for v in start_pose]}
    meta.update(extra)
    meta['objects'] = [o.to_dict() if isinstance(o, WorldObject) else dict(o) for o in objects]
    with open(os.path.join(folder, 'objects.yaml'), 'w') as f:
        f.write('# generated by nanorover_sim.worldgen; cls one of %s, size = (w, d, h) m, '
                'color = (b, g, r)\n' % ', '.join(CLASSES))
        yaml.safe_dump(meta, f, default_flow_style=None, sort_keys=False)
    return folder
