"""Local controller: regulated pure pursuit with a costmap collision check (ROS-free).

After Macenski et al. 2023 ("Regulated Pure Pursuit for Robot Path Tracking"), as in Nav2's
nav2_regulated_pure_pursuit_controller:
  * lookahead distance = clamp(|v| * lookahead_time, min_lookahead, max_lookahead);
  * curvature 2*y/L^2 to the lookahead point; rotate in place when the point is behind/aside;
  * linear speed regulated by curvature (below regulated_min_radius), by proximity to obstacles
    (inflation cost) and near the goal;
  * velocity and acceleration limits from config/robot.yaml;
  * collision check: the commanded arc is rolled out on the costmap and the speed is capped so the
    robot can brake (at max_linear_accel) before the first cell where its circle would touch an
    obstacle, keeping ``stop_margin``: it stops in front of an obstacle that appears on the path.
  * at the goal position, rotate in place to the goal heading; done within xy/yaw tolerances.
"""
import math

import numpy as np

from nanorover_navigation.costmap import INSCRIBED, LETHAL, MAX_INFLATED, NO_INFORMATION
from nanorover_navigation.geometry import wrap_angle
from nanorover_navigation.planner import path_length


class Limits(object):
    """Velocity/acceleration limits (normally read from config/robot.yaml's ``robot`` section)."""

    __slots__ = ('max_v', 'max_w', 'max_acc', 'max_alpha')

    def __init__(self, max_v, max_w, max_acc, max_alpha):
        self.max_v = float(max_v)
        self.max_w = float(max_w)
        self.max_acc = float(max_acc)
        self.max_alpha = float(max_alpha)

    @classmethod
    def from_robot_config(cls, robot):
        return cls(robot['max_linear_velocity'], robot['max_angular_velocity'],
                   robot['max_linear_accel'], robot['max_angular_accel'])


class ControlOutput(object):
    __slots__ = ('v', 'w', 'done', 'blocked', 'free_distance', 'mode')

    def __init__(self, v, w, done=False, blocked=False, free_distance=float('inf'), mode=''):
        self.v = v
        self.w = w
        self.done = done
        self.blocked = blocked
        self.free_distance = free_distance
        self.mode = mode


class PurePursuitController(object):
    def __init__(self, limits, lookahead_time=1.5, min_lookahead=0.25, max_lookahead=0.6,
                 rotate_threshold=0.7, regulated_min_radius=0.5, cost_slowdown=0.5,
                 approach_distance=0.5, min_approach_speed=0.05, xy_tolerance=0.10,
                 yaw_tolerance=0.15, stop_margin=0.05, rotate_gain=2.5, check_horizon=1.2,
                 precise_lookahead=0.12, precise_heading=0.2):
        self.limits = limits
        self.lookahead_time = float(lookahead_time)
        self.min_lookahead = float(min_lookahead)
        self.max_lookahead = float(max_lookahead)
        self.rotate_threshold = float(rotate_threshold)
        self.regulated_min_radius = float(regulated_min_radius)
        self.cost_slowdown = float(cost_slowdown)
        self.approach_distance = float(approach_distance)
        self.min_approach_speed = float(min_approach_speed)
        self.xy_tolerance = float(xy_tolerance)
        self.yaw_tolerance = float(yaw_tolerance)
        self.stop_margin = float(stop_margin)
        self.rotate_gain = float(rotate_gain)
        self.check_horizon = float(check_horizon)
        self.precise_lookahead = float(precise_lookahead)
        self.precise_heading = float(precise_heading)
        self.path = np.zeros((0, 2))
        self.index = 0
        self.goal_yaw = None
        self._at_goal_xy = False

    def set_path(self, path, goal_yaw=None):
        self.path = np.asarray(path, dtype=float).reshape(-1, 2)
        self.index = 0
        self.goal_yaw = goal_yaw
        self._at_goal_xy = False

    def remaining_distance(self, pose):
        if self.path.shape[0] == 0:
            return 0.0
        rest = self.path[self.index:]
        return math.hypot(rest[0, 0] - pose[0], rest[0, 1] - pose[1]) + path_length(rest)

    # --- helpers ----------------------------------------------------------------------------
    def _limit(self, v, w, v_prev, w_prev, dt):
        lim = self.limits
        v = min(max(v, -lim.max_v), lim.max_v)
        w = min(max(w, -lim.max_w), lim.max_w)
        dv = lim.max_acc * dt
        dw = lim.max_alpha * dt
        v = min(max(v, v_prev - dv), v_prev + dv)
        w = min(max(w, w_prev - dw), w_prev + dw)
        return v, w

    def free_distance(self, costmap, pose, v, w, horizon=None):
        """Arc length the robot can drive along (v, w) before its circle touches an obstacle
        (a cell at INSCRIBED or worse; unknown cells count as free); inf if none within horizon."""
        if costmap is None:
            return float('inf')
        horizon = self.check_horizon if horizon is None else horizon
        # samples every quarter cell; each also looks a quarter cell to either side in x and y so
        # that an arc clipping the corner of a cell between two samples still sees that cell
        res = costmap.resolution
        step = 0.25 * res
        n = int(math.ceil(horizon / step))
        s = np.arange(1, n + 1) * step * (1.0 if v >= 0 else -1.0)
        k = (w / v) if abs(v) > 1e-6 else 0.0
        th = pose[2] + k * s
        if abs(k) < 1e-6:
            xs = pose[0] + s * math.cos(pose[2])
            ys = pose[1] + s * math.sin(pose[2])
        else:
            xs = pose[0] + (np.sin(th) - math.sin(pose[2])) / k
            ys = pose[1] - (np.cos(th) - math.cos(pose[2])) / k
        off = np.array([[0.0, 0.0], [1, 1], [1, -1], [-1, 1], [-1, -1]]) * (0.25 * res)
        px = xs[:, None] + off[None, :, 0]
        py = ys[:, None] + off[None, :, 1]
        costs = costmap.cost_at(px, py)
        known = costs != NO_INFORMATION
        bad = np.any((costs >= INSCRIBED) & known, axis=1)
        # starting inside the inscribed band (the costmap changed under the robot) must not
        # freeze it: moves that only go away from the obstacle (clearance never decreasing
        # while still inside the band) are allowed
        here = costmap.clearance_at(pose[0], pose[1])
        if here <= costmap.inscribed_radius:
            clr = costmap.clearance_at(px, py).min(axis=1)
            inside = clr <= costmap.inscribed_radius
            prev = np.concatenate([[here], clr[:-1]])
            bad = np.any(costs == LETHAL, axis=1) | (inside & (clr < prev - 1e-9))
        idx = np.nonzero(bad)[0]
        if idx.size == 0:
            return float('inf')
        return float(abs(s[idx[0]])) - step

    def safe_speed(self, free_distance):
        """Largest speed from which the robot stops within free_distance - stop_margin."""
        d = free_distance - self.stop_margin
        if d <= 0.0:
            return 0.0
        return math.sqrt(2.0 * self.limits.max_acc * d)

    def _advance(self, pose):
        """Move the progress index to the path point closest to the robot (never backwards)."""
        path = self.path
        end = min(path.shape[0], self.index + 60)
        seg = path[self.index:end]
        d = np.hypot(seg[:, 0] - pose[0], seg[:, 1] - pose[1])
        self.index += int(np.argmin(d))

    def _lookahead_point(self, pose, lookahead):
        """First path point at least ``lookahead`` from the robot (after the progress index)."""
        rest = self.path[self.index:]
        d = np.hypot(rest[:, 0] - pose[0], rest[:, 1] - pose[1])
        beyond = np.nonzero(d >= lookahead)[0]
        if beyond.size == 0:
            return rest[-1], True
        return rest[beyond[0]], False

    def _local(self, pose, target):
        dx, dy = target[0] - pose[0], target[1] - pose[1]
        c, s = math.cos(pose[2]), math.sin(pose[2])
        return c * dx + s * dy, -s * dx + c * dy

    # --- main ---------------------------------------------------------------------------------
    def compute(self, pose, v_prev, w_prev, dt, costmap=None):
        """Velocity command (ControlOutput) for ``pose`` (x, y, yaw) following the current path."""
        lim = self.limits
        if self.path.shape[0] == 0:
            v, w = self._limit(0.0, 0.0, v_prev, w_prev, dt)
            return ControlOutput(v, w, done=True, mode='no path')
        goal = self.path[-1]
        dist_goal = math.hypot(goal[0] - pose[0], goal[1] - pose[1])
        if dist_goal <= self.xy_tolerance or self._at_goal_xy:
            # latch: once inside the tolerance, only the heading is corrected
            self._at_goal_xy = True
            if self.goal_yaw is None:
                v, w = self._limit(0.0, 0.0, v_prev, w_prev, dt)
                return ControlOutput(v, w, done=abs(v_prev) < 1e-3 and abs(w_prev) < 1e-3,
                                     mode='at goal')
            err = wrap_angle(self.goal_yaw - pose[2])
            if abs(err) <= self.yaw_tolerance:
                v, w = self._limit(0.0, 0.0, v_prev, w_prev, dt)
                return ControlOutput(v, w, done=abs(w_prev) < 0.05, mode='at goal')
            return ControlOutput(*self._rotate(err, v_prev, w_prev, dt), mode='rotate to heading')

        lookahead = min(max(abs(v_prev) * self.lookahead_time, self.min_lookahead),
                        self.max_lookahead)
        self._advance(pose)
        target, is_last = self._lookahead_point(pose, lookahead)
        lx, ly = self._local(pose, target)
        heading_err = math.atan2(ly, lx)
        if abs(heading_err) > self.rotate_threshold:
            v, w = self._rotate(heading_err, v_prev, w_prev, dt)
            return ControlOutput(v, w, mode='rotate to path')
        l2 = lx * lx + ly * ly
        curvature = 2.0 * ly / l2 if l2 > 1e-9 else 0.0
        v = lim.max_v
        # curvature regulation
        if abs(curvature) > 1e-9:
            radius = 1.0 / abs(curvature)
            if radius < self.regulated_min_radius:
                v *= radius / self.regulated_min_radius
        # proximity regulation (inflation cost under the robot)
        if costmap is not None and self.cost_slowdown > 0:
            cost = costmap.cost_at(pose[0], pose[1])
            if cost <= MAX_INFLATED:
                v *= 1.0 - self.cost_slowdown * cost / float(MAX_INFLATED)
        # approach regulation
        remaining = self.remaining_distance(pose)
        if remaining < self.approach_distance:
            v = max(v * remaining / self.approach_distance, self.min_approach_speed)
        v = max(v, self.min_approach_speed)
        w = v * curvature
        if abs(w) > lim.max_w:
            v *= lim.max_w / abs(w)
            w = math.copysign(lim.max_w, w)
        v, w = self._limit(v, w, v_prev, w_prev, dt)
        # collision check along the commanded arc: cap the speed so the robot can brake in time
        free = self.free_distance(costmap, pose, max(v, 1e-3), w)
        v_safe = self.safe_speed(free)
        if v <= v_safe:
            return ControlOutput(v, w, free_distance=free, mode='follow')
        # the arc to the lookahead point clips an obstacle (pure pursuit cuts corners): track the
        # path tightly instead - turn on the spot towards a point just ahead, then go straight
        near, _ = self._lookahead_point(pose, self.precise_lookahead)
        nx, ny = self._local(pose, near)
        err = math.atan2(ny, nx)
        if abs(err) > self.precise_heading:
            v2, w2 = self._rotate(err, v_prev, w_prev, dt)
            return ControlOutput(v2, w2, free_distance=free, mode='rotate to path (tight)')
        l2 = nx * nx + ny * ny
        k2 = 2.0 * ny / l2 if l2 > 1e-9 else 0.0
        v2 = min(v, self.min_approach_speed * 2.0)
        free2 = self.free_distance(costmap, pose, v2, v2 * k2)
        v_safe2 = self.safe_speed(free2)
        blocked = False
        if v2 > v_safe2:
            v2 = v_safe2 if v_safe2 > self.min_approach_speed * 0.5 else 0.0
            blocked = v2 == 0.0
        v2, w2 = self._limit(v2, v2 * k2, v_prev, w_prev, dt)
        if v2 > max(v_safe2, 0.0):  # braking harder than max_linear_accel: safety first
            v2 = v_safe2
        return ControlOutput(v2, v2 * k2, blocked=blocked, free_distance=free2,
                             mode='follow (tight)')

    def _rotate(self, err, v_prev, w_prev, dt):
        lim = self.limits
        # the fastest rotation that can still brake to zero at the target heading
        w_brake = math.sqrt(2.0 * lim.max_alpha * abs(err) * 0.8)
        w = math.copysign(min(lim.max_w, self.rotate_gain * abs(err), w_brake), err)
        w = math.copysign(max(abs(w), 0.2), err)
        return self._limit(0.0, w, v_prev, w_prev, dt)
