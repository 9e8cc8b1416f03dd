"""Differential-drive kinematics of the nanorover. ROS-free, Python 3.6.

All geometry and limits come from config/robot.yaml (section ``robot``); nothing is repeated here.

- :class:`DiffDrive` turns a body twist (v, w) into wheel speeds with velocity and acceleration
  limits (:meth:`DiffDrive.command`), and wheel speeds back into a twist.
- :class:`Odometry` integrates encoder tick counts (int32, wrapping) with the MCU's µs timestamp
  (uint32, wrapping) into a pose (x, y, yaw) in the odom frame and the current body twist.
"""
import math

from nanorover_common import robot_config
from nanorover_common.robot_config import ConfigError  # noqa: F401 (re-exported)

ROBOT_KEYS = ('wheel_radius', 'wheel_base', 'max_linear_velocity', 'max_angular_velocity',
              'max_linear_accel', 'max_angular_accel', 'encoder_ticks_per_rev')


def load_robot_config(path):
    """The ``robot`` section of a robot.yaml as a dict; checks the keys the base needs
    (ConfigError naming the file and key). An empty path searches the usual places."""
    cfg = robot_config.load_robot_config(path, positive=['robot.' + k for k in ROBOT_KEYS])
    return cfg['robot']


def _clamp(value, limit):
    return max(-limit, min(limit, value))


def _step_towards(current, target, max_step):
    return current + _clamp(target - current, max_step)


class DiffDrive(object):
    """cmd_vel -> wheel speeds [rad/s] with the limits of robot.yaml."""

    def __init__(self, robot):
        self.r = float(robot['wheel_radius'])
        self.b = float(robot['wheel_base'])
        self.v_max = float(robot['max_linear_velocity'])
        self.w_max = float(robot['max_angular_velocity'])
        self.a_max = float(robot['max_linear_accel'])
        self.alpha_max = float(robot['max_angular_accel'])
        self.ticks_per_rev = float(robot['encoder_ticks_per_rev'])
        self.v = 0.0   # last commanded (ramped) twist
        self.w = 0.0

    def limit(self, v, w):
        """Clamp a twist to the velocity limits; non-finite values become 0."""
        v = v if math.isfinite(v) else 0.0
        w = w if math.isfinite(w) else 0.0
        return _clamp(v, self.v_max), _clamp(w, self.w_max)

    def wheel_speeds(self, v, w):
        """(left, right) wheel speed [rad/s] of a body twist (no limits applied)."""
        half = 0.5 * self.b * w
        return (v - half) / self.r, (v + half) / self.r

    def twist(self, left, right):
        """Body twist (v, w) of wheel speeds [rad/s]."""
        return 0.5 * self.r * (left + right), self.r * (right - left) / self.b

    def command(self, v, w, dt):
        """Wheel speeds for a requested twist after velocity limits and an acceleration ramp
        of ``dt`` seconds from the previous command (dt <= 0: jump, used for emergency stop)."""
        v, w = self.limit(v, w)
        if dt > 0:
            v = _step_towards(self.v, v, self.a_max * dt)
            w = _step_towards(self.w, w, self.alpha_max * dt)
        self.v, self.w = v, w
        return self.wheel_speeds(v, w)

    def reset(self):
        self.v = self.w = 0.0

    def ticks_to_rad(self, ticks):
        return 2.0 * math.pi * ticks / self.ticks_per_rev


def wrap_delta(new, old, bits=32):
    """Signed difference new - old of two wrapping counters of ``bits`` bits."""
    mod = 1 << bits
    d = (new - old) % mod
    return d - mod if d >= mod // 2 else d


def normalize_angle(a):
    return math.atan2(math.sin(a), math.cos(a))


class Odometry(object):
    """Integrates ENCODER frames into pose + twist (exact arc integration)."""

    def __init__(self, drive):
        self.drive = drive
        self.x = self.y = self.yaw = 0.0
        self.v = self.w = 0.0
        self._last = None       # (left ticks, right ticks, µs)

    def restart(self):
        """Forget the last encoder reading (counters restarted), keep the pose."""
        self._last = None

    def update(self, left_ticks, right_ticks, stamp_us):
        """Add one encoder reading; returns True when the pose advanced (not on the first)."""
        if self._last is None:
            self._last = (left_ticks, right_ticks, stamp_us)
            return False
        l0, r0, t0 = self._last
        self._last = (left_ticks, right_ticks, stamp_us)
        dl = self.drive.ticks_to_rad(wrap_delta(left_ticks, l0)) * self.drive.r
        dr = self.drive.ticks_to_rad(wrap_delta(right_ticks, r0)) * self.drive.r
        dt = wrap_delta(stamp_us, t0) * 1e-6
        ds = 0.5 * (dl + dr)
        dth = (dr - dl) / self.drive.b
        if abs(dth) < 1e-9:
            self.x += ds * math.cos(self.yaw)
            self.y += ds * math.sin(self.yaw)
        else:   # exact circular arc
            rad = ds / dth
            self.x += rad * (math.sin(self.yaw + dth) - math.sin(self.yaw))
            self.y -= rad * (math.cos(self.yaw + dth) - math.cos(self.yaw))
        self.yaw = normalize_angle(self.yaw + dth)
        if dt > 0:
            self.v, self.w = ds / dt, dth / dt
        return True
