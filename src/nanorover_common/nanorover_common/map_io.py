"""map_server map files (PGM + YAML), read and written without ROS.

Grid convention (nav_msgs/OccupancyGrid): int8 array ``grid[row, col]``, row 0 at the map origin
(lowest y), values 0 free, 100 occupied, -1 unknown. PGM convention (map_server): row 0 at the top
(highest y), 254 free, 0 occupied, 205 unknown (trinary mode, negate 0).

Saves are atomic per file: each file is written to a temporary name in the same directory, fsynced
and renamed over the old one, so an interrupted save leaves the previous map readable. The PGM is
renamed before the YAML; only a crash between the two renames (microseconds) can pair a new image
with the old YAML.
"""
import os
import tempfile

import numpy as np
import yaml

from nanorover_common.yamlfile import load_yaml

FREE, OCCUPIED, UNKNOWN = 0, 100, -1


class MapError(ValueError):
    """A map file is missing or malformed; the message names the file and the problem."""


class MapInfo(object):
    __slots__ = ('resolution', 'origin', 'occupied_thresh', 'free_thresh')

    # free_thresh 0.196 as ROS 1's map_saver writes it: the unknown shade 205 ((255-205)/255 =
    # 0.196) must not count as free when the map is loaded again (with 0.25 it would).
    def __init__(self, resolution, origin=(0.0, 0.0, 0.0), occupied_thresh=0.65,
                 free_thresh=0.196):
        self.resolution = float(resolution)
        self.origin = tuple(float(v) for v in origin)
        self.occupied_thresh = float(occupied_thresh)
        self.free_thresh = float(free_thresh)


def _read_pgm(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as exc:
        raise MapError('cannot read map image %s: %s' % (path, exc))
    tokens = []
    pos = 0
    # header: magic, width, height, maxval, separated by whitespace, comments start with '#'
    while len(tokens) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if pos < len(data) and data[pos:pos + 1] == b'#':
            while pos < len(data) and data[pos:pos + 1] not in (b'\n', b'\r'):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise MapError('%s: truncated PGM header' % path)
        tokens.append(data[start:pos])
    pos += 1  # single whitespace before the raster
    if tokens[0] != b'P5':
        raise MapError('%s: not a binary PGM (P5), magic %r' % (path, tokens[0]))
    try:
        width, height, maxval = int(tokens[1]), int(tokens[2]), int(tokens[3])
    except ValueError:
        raise MapError('%s: bad PGM header %r' % (path, tokens))
    if maxval > 255 or width <= 0 or height <= 0:
        raise MapError('%s: unsupported PGM (%dx%d, maxval %d)' % (path, width, height, maxval))
    raster = np.frombuffer(data, dtype=np.uint8, count=-1, offset=pos)
    if raster.size < width * height:
        raise MapError('%s: PGM raster truncated (%d of %d bytes)' % (path, raster.size,
                                                                      width * height))
    return raster[:width * height].reshape(height, width)


def read_map(yaml_path):
    """Load a map_server YAML + image; returns (grid int8 [rows, cols], MapInfo)."""
    meta = load_yaml(yaml_path, MapError, 'map')
    if not isinstance(meta, dict):
        raise MapError('%s: expected a mapping' % yaml_path)
    for key in ('image', 'resolution', 'origin'):
        if key not in meta:
            raise MapError('%s: missing key %r' % (yaml_path, key))
    image = meta['image']
    if not os.path.isabs(image):
        image = os.path.join(os.path.dirname(os.path.abspath(yaml_path)), image)
    if not image.lower().endswith('.pgm'):
        raise MapError('%s: only PGM images are supported, got %s' % (yaml_path, image))
    pixels = _read_pgm(image).astype(np.float32)
    if int(meta.get('negate', 0)):
        occ = pixels / 255.0
    else:
        occ = (255.0 - pixels) / 255.0
    info = MapInfo(meta['resolution'], list(meta['origin'])[:3] + [0.0] * (3 - len(meta['origin'])),
                   meta.get('occupied_thresh', 0.65), meta.get('free_thresh', 0.196))
    grid = np.full(pixels.shape, UNKNOWN, dtype=np.int8)
    grid[occ > info.occupied_thresh] = OCCUPIED
    grid[occ < info.free_thresh] = FREE
    return grid[::-1].copy(), info


def _atomic_write(path, payload):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                               dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; maps are meant to be shared
        return tmp
    except BaseException:
        os.unlink(tmp)
        raise


def write_map(stem, grid, info):
    """Write ``stem``.pgm + ``stem``.yaml atomically; returns the YAML path."""
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.size == 0:
        raise MapError('cannot save an empty map')
    directory = os.path.dirname(os.path.abspath(stem))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    thresh_occ = info.occupied_thresh * 100.0
    thresh_free = info.free_thresh * 100.0
    g = grid.astype(np.int16)
    pixels = np.full(g.shape, 205, dtype=np.uint8)
    pixels[(g >= 0) & (g <= thresh_free)] = 254
    pixels[g >= thresh_occ] = 0
    pixels = pixels[::-1]
    header = ('P5\n# nanorover map\n%d %d\n255\n' % (pixels.shape[1], pixels.shape[0])).encode()
    pgm_path, yaml_path = stem + '.pgm', stem + '.yaml'
    meta = {
        'image': os.path.basename(pgm_path),
        'mode': 'trinary',
        'resolution': float(info.resolution),
        'origin': [float(v) for v in info.origin],
        'negate': 0,
        'occupied_thresh': float(info.occupied_thresh),
        'free_thresh': float(info.free_thresh),
    }
    tmp_pgm = _atomic_write(pgm_path, header + pixels.tobytes())
    try:
        tmp_yaml = _atomic_write(yaml_path, yaml.safe_dump(meta, default_flow_style=None).encode())
    except BaseException:
        os.unlink(tmp_pgm)
        raise
    os.rename(tmp_pgm, pgm_path)
    os.rename(tmp_yaml, yaml_path)
    return yaml_path
