"""Scripted teleop of `nanorover sim --drive teleop` (and the fallback when no navigator exists).

A loop of (linear m/s, angular rad/s, duration s) segments in sim time, with one safety rule: when
the scan shows an obstacle closer than ``stop_distance`` in the front sector, turn in place (the
side with more room) instead of driving into it. ROS-free.
"""
import numpy as np

from nanorover_navigation.geometry import wrap_angle

#: forward, turn, forward, gentle curve, forward, turn the other way (repeats)
DEFAULT_SEGMENTS = (
    (0.25, 0.0, 6.0),
    (0.0, 0.8, 2.0),
    (0.25, 0.0, 4.0),
    (0.2, 0.35, 5.0),
    (0.25, 0.0, 4.0),
    (0.0, -0.8, 2.5),
)


def sector_clearance(ranges, angle_min, angle_increment, lo, hi, range_min=0.05):
    """Smallest valid range with beam angle in [lo, hi] (inf when none)."""
    r = np.asarray(ranges, dtype=float)
    if r.size == 0:
        return float('inf')
    angles = angle_min + angle_increment * np.arange(r.size)
    angles = wrap_angle(angles)
    sel = (angles >= lo) & (angles <= hi) & np.isfinite(r) & (r > range_min)
    return float(r[sel].min()) if sel.any() else float('inf')


class ScriptedTeleop(object):
    def __init__(self, segments=DEFAULT_SEGMENTS, stop_distance=0.45, half_width=0.5,
                 turn_rate=0.8):
        if not segments:
            raise ValueError('teleop needs at least one segment')
        self.segments = tuple(segments)
        self.period = sum(s[2] for s in self.segments)
        self.stop_distance = stop_distance
        self.half_width = half_width
        self.turn_rate = turn_rate
        self._avoid = 0.0  # sign of the turn while avoiding, 0 when not

    def scripted(self, t):
        """(v, w) of the segment active at sim time t."""
        t = t % self.period
        for v, w, d in self.segments:
            if t < d:
                return v, w
            t -= d
        return self.segments[-1][:2]

    def command(self, t, scan=None):
        """(v, w) at sim time t; ``scan`` = (ranges, angle_min, angle_increment) or None."""
        v, w = self.scripted(t)
        if scan is None:
            return v, w
        ranges, amin, ainc = scan
        front = sector_clearance(ranges, amin, ainc, -self.half_width, self.half_width)
        if front < self.stop_distance or (self._avoid and front < 1.5 * self.stop_distance):
            if not self._avoid:
                left = sector_clearance(ranges, amin, ainc, 0.5, 2.0)
                right = sector_clearance(ranges, amin, ainc, -2.0, -0.5)
                self._avoid = 1.0 if left >= right else -1.0
            return 0.0, self._avoid * self.turn_rate
        self._avoid = 0.0
        return v, w
