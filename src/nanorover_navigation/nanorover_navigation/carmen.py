"""CARMEN log reader (FLASER, ROBOTLASER1, ODOM), as used by the Radish / Freiburg SLAM datasets.

Line formats (see shared/SLAM_NAV_FACTS.md):
``ODOM x y theta tv rv accel ipc_ts host logger_ts``;
``FLASER n r1..rn x y theta odom_x odom_y odom_theta ipc_ts host logger_ts`` (180 deg field of
view from -90 deg; the x y theta are the laser's pose, odom_* the robot's, both by odometry);
``ROBOTLASER1 laser_type start_angle fov ang_res max_range accuracy remission_mode n r1..rn n_rem
rem1..rem_m laser_x laser_y laser_th robot_x robot_y robot_th tv rv fwd_safety side_safety
turn_axis ipc_ts host logger_ts``.
Other message types (PARAM, SYNC, RAWLASER, TRUEPOS, ...) and comments are skipped.
Python 3.6 compatible, numpy only.
"""
import math

import numpy as np

from nanorover_navigation.geometry import se2_between


class CarmenError(ValueError):
    """A malformed CARMEN line; the message names the file, line and problem."""


class LaserRecord(object):
    __slots__ = ('timestamp', 'ranges', 'angle_min', 'angle_increment', 'max_range',
                 'laser_pose', 'robot_pose', 'kind')

    def __init__(self, timestamp, ranges, angle_min, angle_increment, max_range, laser_pose,
                 robot_pose, kind):
        self.timestamp = timestamp
        self.ranges = ranges
        self.angle_min = angle_min
        self.angle_increment = angle_increment
        self.max_range = max_range
        self.laser_pose = laser_pose
        self.robot_pose = robot_pose
        self.kind = kind

    @property
    def laser_offset(self):
        """Laser pose in the robot frame (from the two odometry poses of the record)."""
        return se2_between(self.robot_pose, self.laser_pose)


class OdomRecord(object):
    __slots__ = ('timestamp', 'pose', 'tv', 'rv')

    def __init__(self, timestamp, pose, tv, rv):
        self.timestamp = timestamp
        self.pose = pose
        self.tv = tv
        self.rv = rv


def flaser_increment(n):
    """FLASER beams span 180 deg: n odd -> endpoints included (181 x 1 deg), n even -> n steps."""
    if n <= 1:
        return math.pi
    return math.pi / (n - 1) if n % 2 else math.pi / n


def _floats(tokens, what, where):
    try:
        return [float(t) for t in tokens]
    except ValueError:
        raise CarmenError('%s: non-numeric %s in %r' % (where, what, ' '.join(tokens)))


def _parse_flaser(tok, where, default_max_range):
    try:
        n = int(tok[1])
    except (IndexError, ValueError):
        raise CarmenError('%s: FLASER needs a beam count' % where)
    need = 2 + n + 6 + 1
    if n < 0 or len(tok) < need:
        raise CarmenError('%s: FLASER with %d beams needs at least %d fields, got %d'
                          % (where, n, need, len(tok)))
    ranges = np.array(_floats(tok[2:2 + n], 'range', where))
    vals = _floats(tok[2 + n:2 + n + 7], 'pose/timestamp', where)
    return LaserRecord(vals[6], ranges, -math.pi / 2, flaser_increment(n), default_max_range,
                       np.array(vals[0:3]), np.array(vals[3:6]), 'FLASER')


def _parse_robotlaser(tok, where):
    if len(tok) < 9:
        raise CarmenError('%s: ROBOTLASER1 too short' % where)
    head = _floats(tok[2:7], 'header', where)
    start, fov, res, max_range = head[0], head[1], head[2], head[3]
    try:
        n = int(tok[8])
    except ValueError:
        raise CarmenError('%s: ROBOTLASER1 beam count %r' % (where, tok[8]))
    pos = 9
    if len(tok) < pos + n + 1:
        raise CarmenError('%s: ROBOTLASER1 declares %d ranges, line too short' % (where, n))
    ranges = np.array(_floats(tok[pos:pos + n], 'range', where))
    pos += n
    try:
        n_rem = int(tok[pos])
    except ValueError:
        raise CarmenError('%s: ROBOTLASER1 remission count %r' % (where, tok[pos]))
    pos += 1 + n_rem
    if n_rem < 0 or len(tok) < pos + 11 + 1:
        raise CarmenError('%s: ROBOTLASER1 line too short after %d remissions' % (where, n_rem))
    vals = _floats(tok[pos:pos + 12], 'pose/velocity/timestamp', where)
    inc = res if res != 0.0 else (fov / max(n - 1, 1))
    return LaserRecord(vals[11], ranges, start, inc, max_range, np.array(vals[0:3]),
                       np.array(vals[3:6]), 'ROBOTLASER1')


def _parse_odom(tok, where):
    if len(tok) < 8:
        raise CarmenError('%s: ODOM needs x y theta tv rv accel timestamp' % where)
    v = _floats(tok[1:8], 'field', where)
    return OdomRecord(v[6], np.array(v[0:3]), v[3], v[4])


def parse_lines(lines, source='<log>', default_max_range=81.0):
    """Yield LaserRecord / OdomRecord objects of the given lines (in file order)."""
    for lineno, line in enumerate(lines, 1):
        tok = line.split()
        if not tok or tok[0].startswith('#'):
            continue
        where = '%s:%d' % (source, lineno)
        kind = tok[0]
        if kind == 'FLASER':
            yield _parse_flaser(tok, where, default_max_range)
        elif kind == 'ROBOTLASER1':
            yield _parse_robotlaser(tok, where)
        elif kind == 'ODOM':
            yield _parse_odom(tok, where)


def read_log(path, default_max_range=81.0):
    """(lasers, odoms): the laser and odometry records of a CARMEN log file."""
    lasers, odoms = [], []
    try:
        with open(path) as f:
            for rec in parse_lines(f, path, default_max_range):
                (lasers if isinstance(rec, LaserRecord) else odoms).append(rec)
    except (IOError, OSError) as exc:
        raise CarmenError('cannot read CARMEN log %s: %s' % (path, exc))
    return lasers, odoms


def format_flaser(ranges, laser_pose, robot_pose, timestamp, host='nanorover'):
    """One FLASER line (used to write synthetic logs)."""
    r = ' '.join('%.3f' % v for v in ranges)
    return 'FLASER %d %s %.6f %.6f %.6f %.6f %.6f %.6f %.6f %s %.6f' % (
        len(ranges), r, laser_pose[0], laser_pose[1], laser_pose[2], robot_pose[0],
        robot_pose[1], robot_pose[2], timestamp, host, timestamp)
