"""Revolution (device angles, clockwise) -> fixed-size LaserScan ranges (REP 103, CCW). ROS-free.

* CW -> CCW: ``inverted`` maps a -> 360 - a, ``reversion`` adds 180 deg (both true for a G4, as
  the ROS 2 driver's defaults should be; false gives a mirrored / rotated scan).
* A fixed number of beams ``beams`` between ``angle_min`` and ``angle_max`` (inclusive, increment
  (max - min) / (beams - 1)), so consumers such as slam_toolbox always get the same count. Each
  sample goes to its nearest beam; several samples in one beam: the nearest range wins.
* Samples outside [range_min, range_max] or with no return are invalid; beams with no valid sample
  are +inf (``invalid_range_is_inf``, REP 117) or 0.
* ``ignore_array``: sectors [lo, hi] in degrees of the laser frame whose samples are dropped.
* Timing: scan_time = 1 / measured frequency; time_increment = scan_time / samples; the first
  acquired ray was measured scan_time - time_increment before the closing zero packet
  (``first_ray_age``): the node back-dates the stamp by it. The G4 turns clockwise, so acquisition
  runs against the array order; time_increment is reported as a magnitude, as the upstream driver
  does.
"""
import math

import numpy as np

from ydlidar_g4 import protocol as P


def parse_ignore_array(text):
    """'lo1,hi1,lo2,hi2' (degrees) -> [(lo, hi), ...]; raises ValueError with the reason."""
    text = (text or '').strip()
    if not text:
        return []
    try:
        vals = [float(v) for v in text.replace(';', ',').split(',') if v.strip()]
    except ValueError:
        raise ValueError('ignore_array must be comma-separated numbers (degrees), got %r' % text)
    if len(vals) % 2:
        raise ValueError('ignore_array needs pairs lo,hi (degrees), got %d numbers' % len(vals))
    pairs = []
    for lo, hi in zip(vals[0::2], vals[1::2]):
        if not (-180.0 <= lo < hi <= 180.0):
            raise ValueError('ignore_array sector [%g, %g] must satisfy -180 <= lo < hi <= 180'
                             % (lo, hi))
        pairs.append((lo, hi))
    return pairs


def default_range_min(sample_rate_khz):
    return P.RANGE_MIN_BY_RATE.get(int(sample_rate_khz), 0.28)


class ScanConfig(object):
    def __init__(self, angle_min_deg=-180.0, angle_max_deg=180.0, beams=720, range_min=0.0,
                 range_max=0.0, sample_rate_khz=9, inverted=True, reversion=True,
                 ignore_array='', invalid_range_is_inf=True):
        if not angle_min_deg < angle_max_deg:
            raise ValueError('angle_min (%g) must be smaller than angle_max (%g)' %
                             (angle_min_deg, angle_max_deg))
        if int(beams) < 2:
            raise ValueError('beams must be at least 2')
        self.angle_min = math.radians(angle_min_deg)
        self.angle_max = math.radians(angle_max_deg)
        self.beams = int(beams)
        self.angle_increment = (self.angle_max - self.angle_min) / (self.beams - 1)
        self.range_min = float(range_min) if range_min > 0 else default_range_min(sample_rate_khz)
        self.range_max = float(range_max) if range_max > 0 else P.RANGE_MAX
        if not self.range_min < self.range_max:
            raise ValueError('range_min (%g) must be smaller than range_max (%g)' %
                             (self.range_min, self.range_max))
        self.inverted = bool(inverted)
        self.reversion = bool(reversion)
        self.ignore = [(math.radians(lo), math.radians(hi))
                       for lo, hi in parse_ignore_array(ignore_array)]
        self.invalid_range_is_inf = bool(invalid_range_is_inf)


class Scan(object):
    __slots__ = ('ranges', 'angle_min', 'angle_max', 'angle_increment', 'time_increment',
                 'scan_time', 'range_min', 'range_max', 'first_ray_age', 'samples')

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw[k])


def device_to_laser(angles_deg, inverted=True, reversion=True):
    """Device angles (deg, CW) -> laser_frame angles (rad, CCW) in [-pi, pi)."""
    a = np.asarray(angles_deg, dtype=np.float64)
    if inverted:
        a = 360.0 - a
    if reversion:
        a = a + 180.0
    rad = np.radians(a)
    return np.mod(rad + np.pi, 2 * np.pi) - np.pi


class ScanBuilder(object):
    def __init__(self, config):
        self.config = config
        c = config
        # a full circle: -pi and +pi are the same beam direction; fold onto the first beam
        self._full = abs((c.angle_max - c.angle_min) - 2 * math.pi) < 1e-6

    def build(self, rev, frequency_hz):
        """``rev``: protocol.Revolution; ``frequency_hz``: the measured rotation rate."""
        c = self.config
        n = len(rev)
        theta = device_to_laser(rev.angles_deg, c.inverted, c.reversion)
        r = rev.ranges_m
        ok = (r >= c.range_min) & (r <= c.range_max) & (r > 0)
        for lo, hi in c.ignore:
            ok &= ~((theta >= lo) & (theta <= hi))
        half = 0.5 * c.angle_increment
        ok &= (theta >= c.angle_min - half) & (theta <= c.angle_max + half)
        idx = np.rint((theta[ok] - c.angle_min) / c.angle_increment).astype(np.int64)
        np.clip(idx, 0, c.beams - 1, out=idx)
        rv = r[ok]
        fill = np.inf if c.invalid_range_is_inf else 0.0
        out = np.full(c.beams, fill, dtype=np.float32)
        if rv.size:
            order = np.lexsort((rv, idx))       # by beam, then by range
            first = np.ones(order.size, dtype=bool)
            sidx = idx[order]
            first[1:] = sidx[1:] != sidx[:-1]
            out[sidx[first]] = rv[order][first]
            if self._full:
                ends = [v for v in (out[0], out[-1]) if np.isfinite(v) and v > 0]
                out[0] = out[-1] = min(ends) if ends else fill
        scan_time = 1.0 / frequency_hz if frequency_hz > 0 else 0.0
        tinc = scan_time / n if n else 0.0
        return Scan(ranges=out, angle_min=c.angle_min, angle_max=c.angle_max,
                    angle_increment=c.angle_increment, time_increment=tinc,
                    scan_time=scan_time, range_min=c.range_min, range_max=c.range_max,
                    first_ray_age=max(0.0, scan_time - tinc), samples=n)
