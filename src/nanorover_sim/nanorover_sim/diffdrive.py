"""Differential-drive kinematics with velocity/acceleration limits, collisions and seeded odometry drift.

``DiffDrive.pose`` is the true pose (x, y, yaw) in the world frame; ``odom_pose`` is the pose that the
wheel encoders would integrate, in the odom frame (REP 105: it starts at (0, 0, 0) where the robot
starts and drifts).  Drift model: each wheel's measured travel = true travel x (1 + calibration error
+ random slip); the calibration errors are drawn once from N(0, slip[0]) (a systematic heading drift,
as unequal wheel radii give), the per-step slip from N(0, slip[1]) scaled to the step.
"""
import math

import numpy as np

# shared loader, re-exported: nanorover_sim.diffdrive.load_robot_config is used across the sim
from nanorover_common.robot_config import find_config, load_robot_config  # noqa: F401

DEFAULT_SLIP = (0.01, 0.03)
#: a contact ends (and the next one counts as a new collision) once the robot is this far (m)
#: further from the obstacle than its radius
CONTACT_RELEASE = 0.10


def wrap(a):
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def integrate(pose, v, w, dt):
    """Exact unicycle integration of (v, w) over dt from pose (x, y, yaw)."""
    x, y, th = pose
    if abs(w) < 1e-9:
        return (x + v * dt * math.cos(th), y + v * dt * math.sin(th), th)
    th2 = th + w * dt
    r = v / w
    return (x + r * (math.sin(th2) - math.sin(th)), y - r * (math.cos(th2) - math.cos(th)),
            wrap(th2))


def _approach(current, target, max_delta):
    if target > current + max_delta:
        return current + max_delta
    if target < current - max_delta:
        return current - max_delta
    return target


class DiffDrive(object):
    """Simulated differential-drive base.

    robot_cfg: the dict of config/robot.yaml (or just its ``robot`` section).  world: a World for
    collision checks (None: no collisions).  start: initial true pose (default: world.start_pose).
    """

    def __init__(self, robot_cfg, seed=0, slip=DEFAULT_SLIP, world=None, start=None):
        r = robot_cfg.get('robot', robot_cfg)
        self.wheel_base = float(r['wheel_base'])
        self.radius = float(r['radius'])
        self.max_v = float(r['max_linear_velocity'])
        self.max_w = float(r['max_angular_velocity'])
        self.max_acc = float(r['max_linear_accel'])
        self.max_alpha = float(r['max_angular_accel'])
        self.world = world
        self.rng = np.random.default_rng(seed)
        slip = tuple(float(s) for s in slip)
        if len(slip) != 2 or min(slip) < 0:
            raise ValueError('slip must be (systematic_std, random_std) >= 0, got %r' % (slip,))
        self.slip = slip
        self.scale_l = 1.0 + self.rng.normal(0.0, slip[0])
        self.scale_r = 1.0 + self.rng.normal(0.0, slip[0])
        if start is None:
            start = world.start_pose if world is not None else (0.0, 0.0, 0.0)
        self.reset(start)

    def reset(self, pose):
        self.pose = tuple(float(v) for v in pose)
        self.odom_pose = (0.0, 0.0, 0.0)
        self.v = 0.0
        self.w = 0.0
        self.odom_v = 0.0
        self.odom_w = 0.0
        self.collisions = 0
        self.in_collision = False
        self.distance = 0.0

    def limit(self, v_cmd, w_cmd, dt):
        """Commanded velocities clamped to the velocity limits, then approached within the
        acceleration limits from the current velocities; returns (v, w)."""
        v_t = max(-self.max_v, min(self.max_v, float(v_cmd)))
        w_t = max(-self.max_w, min(self.max_w, float(w_cmd)))
        return (_approach(self.v, v_t, self.max_acc * dt), _approach(self.w, w_t, self.max_alpha * dt))

    def step(self, v_cmd, w_cmd, dt):
        """Advance by dt s under the command; returns True when a collision stopped the robot.

        Collisions are counted per contact: creeping on against the same obstacle is one collision."""
        dt = float(dt)
        if dt <= 0:
            return False
        if not (math.isfinite(v_cmd) and math.isfinite(w_cmd)):
            v_cmd, w_cmd = 0.0, 0.0
        v, w = self.limit(v_cmd, w_cmd, dt)
        new = integrate(self.pose, v, w, dt)
        blocked = False
        if self.world is not None and (new[0] != self.pose[0] or new[1] != self.pose[1]):
            if not self.world.is_free(new[0], new[1], self.radius):
                # allow moves that get out of an obstacle (spawned/rotated into it), block the rest
                before = self._clearance(self.pose)
                blocked = self._clearance(new) <= before
        if blocked:
            if not self.in_collision:
                self.collisions += 1
            self.in_collision = True
            self.v, self.w = 0.0, 0.0
            self.odom_v, self.odom_w = 0.0, 0.0
            return True
        self.v, self.w = v, w
        self.pose = new
        if self.in_collision and self.world.is_free(new[0], new[1], self.radius + CONTACT_RELEASE):
            self.in_collision = False  # backed away: the next contact is a new collision
        self.distance += abs(v) * dt
        self._odometry(v, w, dt)
        return False

    def _clearance(self, pose):
        row, col = self.world.world_to_cell(pose[0], pose[1])
        rows, cols = self.world.grid.shape
        if not (0 <= row < rows and 0 <= col < cols):
            return -1.0
        return float(self.world.clearance[row, col])

    def _odometry(self, v, w, dt):
        # wheel travel (m) this step, measured with calibration error and random slip
        half = self.wheel_base / 2.0
        dl = (v - w * half) * dt
        dr = (v + w * half) * dt
        sigma = self.slip[1]
        if sigma > 0:
            nl, nr = self.rng.normal(0.0, sigma, size=2)
        else:
            nl = nr = 0.0
        ml = dl * (self.scale_l + nl)
        mr = dr * (self.scale_r + nr)
        vm = (ml + mr) / (2.0 * dt)
        wm = (mr - ml) / (self.wheel_base * dt)
        self.odom_v, self.odom_w = vm, wm
        self.odom_pose = integrate(self.odom_pose, vm, wm, dt)
