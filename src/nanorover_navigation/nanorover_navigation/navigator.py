"""The embedded navigator's state machine (ROS-free): goals or frontier exploration, planning,
following, replanning, recovery. navigator_node.py only converts messages and calls it.

States (nanorover_interfaces/msg/NavigationStatus): IDLE, PLANNING, FOLLOWING, RECOVERING,
SUCCEEDED, FAILED, EXPLORING (= following a path to a frontier).

  goal -> PLANNING -> FOLLOWING -> SUCCEEDED
             |  ^         |  path blocked (costmap) -> PLANNING (replans += 1)
             |  |         |  no progress for stuck_timeout -> RECOVERING (spin/back up) -> PLANNING
             v  |         v  recoveries > max_recoveries -> FAILED (reason)
           FAILED (goal outside map / occupied / unreachable, with the reason)

Exploration: pick a frontier (frontier.py), plan and follow to it (state EXPLORING), pick the next
when reached, unreachable, or no longer a frontier; SUCCEEDED when none is left.
"""
import math

import numpy as np
from nanorover_common import robot_config

from nanorover_navigation.controller import Limits, PurePursuitController
from nanorover_navigation.costmap import INSCRIBED, NO_INFORMATION, Costmap, scan_endpoints
from nanorover_navigation.frontier import FrontierExplorer, frontier_mask
from nanorover_navigation.geometry import se2_compose, wrap_angle
from nanorover_navigation.planner import AStarPlanner

IDLE, PLANNING, FOLLOWING, RECOVERING, SUCCEEDED, FAILED, EXPLORING = range(7)
STATE_NAMES = ('IDLE', 'PLANNING', 'FOLLOWING', 'RECOVERING', 'SUCCEEDED', 'FAILED', 'EXPLORING')

# name -> (default, description, (min, max) or None). The node declares these as ROS parameters;
# config/navigator.yaml sets them. Robot geometry and limits come from config/robot.yaml.
PARAMETERS = (
    ('inflation_radius', 0.45, 'costmap inflation radius [m] (>= robot radius + padding)',
     (0.14, 2.0)),
    ('footprint_padding', 0.06, 'added to robot.radius for collision checks [m]; covers the grid '
     'discretisation (half a cell + half a cell diagonal at 0.05 m/cell)', (0.0, 0.5)),
    ('cost_scaling', 3.0, 'inflation cost decay factor [1/m]', (0.1, 20.0)),
    ('cost_weight', 2.0, 'planner: extra step cost at cost 252 (x step length)', (0.0, 20.0)),
    ('allow_unknown', False, 'planner may cross unknown cells', None),
    ('plan_max_cost', 200, 'planner: highest cell cost a path may use (253 = touching); the '
     'margin keeps paths out of gaps the controller cannot follow', (1, 252)),
    ('goal_tolerance', 0.5, 'planner: a goal in an occupied/unknown cell is moved to the nearest '
     'free cell within this distance [m]', (0.0, 3.0)),
    ('xy_goal_tolerance', 0.10, 'goal reached within this distance [m]', (0.02, 1.0)),
    ('yaw_goal_tolerance', 0.15, 'goal heading reached within this angle [rad]', (0.01, 3.2)),
    ('lookahead_time', 1.5, 'pure pursuit lookahead = speed * this [s]', (0.1, 5.0)),
    ('min_lookahead', 0.25, 'pure pursuit minimum lookahead [m]', (0.05, 2.0)),
    ('max_lookahead', 0.6, 'pure pursuit maximum lookahead [m]', (0.1, 3.0)),
    ('rotate_threshold', 0.7, 'rotate in place when the path is more than this off heading [rad]',
     (0.1, 3.2)),
    ('regulated_min_radius', 0.5, 'slow down on turns tighter than this radius [m]', (0.0, 5.0)),
    ('approach_distance', 0.5, 'slow down within this distance of the goal [m]', (0.0, 3.0)),
    ('stop_margin', 0.05, 'stop this far before the robot would touch an obstacle [m]',
     (0.0, 1.0)),
    ('raytrace_range', 3.0, 'scans clear obstacle marks up to this range [m]', (0.1, 20.0)),
    ('obstacle_range', 2.5, 'scans mark obstacles up to this range [m]', (0.1, 20.0)),
    ('stuck_timeout', 6.0, 'no progress for this long triggers a recovery [s]', (1.0, 120.0)),
    ('progress_distance', 0.05, 'progress = the remaining distance shrinks by this much [m]',
     (0.005, 1.0)),
    ('max_recoveries', 4, 'recoveries per goal before FAILED', (0, 50)),
    ('backup_distance', 0.15, 'recovery: back up this far [m]', (0.0, 1.0)),
    ('spin_angle', 1.57, 'recovery: spin this far [rad]', (0.0, 6.3)),
    ('replan_period', 1.0, 'minimum time between replans when the path is blocked [s]',
     (0.0, 30.0)),
    ('costmap_period', 0.2, 'minimum time between costmap inflation updates [s]', (0.0, 5.0)),
    ('frontier_min_size', 3, 'frontier clusters smaller than this (cells) are ignored', (1, 1000)),
    ('frontier_period', 2.0, 'while exploring, re-check the frontiers this often [s]',
     (0.1, 60.0)),
)


def default_params():
    return dict((name, default) for name, default, _, _ in PARAMETERS)


def load_robot_config(path=''):
    """The whole robot.yaml as a dict, checked for the keys the navigator needs (ConfigError)."""
    return robot_config.load_robot_config(path, positive=(
        'robot.radius', 'robot.max_linear_velocity', 'robot.max_angular_velocity',
        'robot.max_linear_accel', 'robot.max_angular_accel'))


class Status(object):
    __slots__ = ('state', 'message', 'goal', 'distance_remaining', 'recoveries', 'replans')

    def __init__(self):
        self.state = IDLE
        self.message = 'waiting for a goal'
        self.goal = None
        self.distance_remaining = 0.0
        self.recoveries = 0
        self.replans = 0

    def __repr__(self):
        return 'Status(%s, %r)' % (STATE_NAMES[self.state], self.message)


class Navigator(object):
    """Feed it maps, scans and poses; call step() at the control rate for (v, w) commands."""

    def __init__(self, robot_config, params=None):
        p = default_params()
        p.update(params or {})
        self.params = p
        robot = robot_config['robot']
        lidar = robot_config.get('lidar', {}) or {}
        self.robot_radius = float(robot['radius'])
        self.laser_offset = (float(lidar.get('x', 0.0)), float(lidar.get('y', 0.0)),
                             float(lidar.get('yaw', 0.0)))
        if p['inflation_radius'] < self.robot_radius + p['footprint_padding']:
            raise ValueError('inflation_radius %.2f < robot radius %.2f + footprint_padding %.2f'
                             % (p['inflation_radius'], self.robot_radius,
                                p['footprint_padding']))
        self.limits = Limits.from_robot_config(robot)
        self.planner = AStarPlanner(cost_weight=p['cost_weight'],
                                    goal_tolerance=p['goal_tolerance'],
                                    allow_unknown=p['allow_unknown'],
                                    max_cost=p['plan_max_cost'])
        self.controller = PurePursuitController(
            self.limits, lookahead_time=p['lookahead_time'], min_lookahead=p['min_lookahead'],
            max_lookahead=p['max_lookahead'], rotate_threshold=p['rotate_threshold'],
            regulated_min_radius=p['regulated_min_radius'],
            approach_distance=p['approach_distance'], xy_tolerance=p['xy_goal_tolerance'],
            yaw_tolerance=p['yaw_goal_tolerance'], stop_margin=p['stop_margin'])
        self.explorer = FrontierExplorer(min_size=p['frontier_min_size'])
        self.costmap = None
        self.grid = None
        self.map_version = 0
        self.status = Status()
        self.status_version = 0
        self.path = np.zeros((0, 2))
        self.path_version = 0
        self.exploring = False
        self.goal = None          # (x, y, yaw or None)
        self._cmd = (0.0, 0.0)
        self._costmap_dirty = False
        self._costmap_time = -1e9
        self._last_plan_time = -1e9
        self._progress_best = float('inf')
        self._progress_time = None
        self._recovery = None
        self._frontier_check_time = -1e9
        self._frontier_map_version = -1

    # --- inputs ---------------------------------------------------------------------------
    def set_map(self, grid, resolution, origin):
        """A new OccupancyGrid (int8 [rows, cols], row 0 at origin). Keeps scan marks when the
        geometry is unchanged."""
        grid = np.asarray(grid, dtype=np.int8)
        p = self.params
        if self.costmap is not None and self.costmap.same_geometry(grid.shape, resolution,
                                                                   origin):
            self.costmap.set_static(grid)
            self._costmap_dirty = True
        else:
            self.costmap = Costmap(grid, resolution, origin, self.robot_radius,
                                   p['inflation_radius'], p['cost_scaling'],
                                   p['raytrace_range'], p['obstacle_range'],
                                   p['footprint_padding'])
            self._costmap_dirty = False
        self.grid = grid
        self.map_version += 1

    def add_scan(self, robot_pose, ranges, angle_min, angle_increment, range_min, range_max):
        """A LaserScan taken at ``robot_pose`` (x, y, yaw in the map frame)."""
        if self.costmap is None:
            return
        laser = se2_compose(robot_pose, self.laser_offset)
        pts, hit = scan_endpoints(laser, ranges, angle_min, angle_increment, range_min,
                                  range_max)
        self.costmap.update_scan(laser[:2], pts, hit)
        self._costmap_dirty = True

    def set_goal(self, x, y, yaw=None):
        self.exploring = False
        self.goal = (float(x), float(y), None if yaw is None else float(yaw))
        self._new_task()
        self._set_state(PLANNING, 'goal (%.2f, %.2f) received' % (x, y))

    def start_exploration(self):
        self.exploring = True
        self.goal = None
        self.explorer.blacklist = []
        self._new_task()
        self._set_state(PLANNING, 'exploration started')

    def cancel(self, reason='cancelled'):
        self.exploring = False
        self.goal = None
        self._set_path(np.zeros((0, 2)))
        self._set_state(IDLE, reason)

    def fail(self, reason):
        self.exploring = False
        self._set_path(np.zeros((0, 2)))
        self._set_state(FAILED, reason)

    # --- internals ------------------------------------------------------------------------
    def _new_task(self):
        self.status.recoveries = 0
        self.status.replans = 0
        self._recovery = None
        self._progress_best = float('inf')
        self._progress_time = None
        self._last_plan_time = -1e9

    def _set_state(self, state, message):
        if state != self.status.state or message != self.status.message:
            self.status.state = state
            self.status.message = message
            self.status_version += 1
        self.status.goal = self.goal

    def _set_path(self, path, goal_yaw=None):
        self.path = path
        self.path_version += 1
        self.controller.set_path(path, goal_yaw)

    def _refresh_costmap(self, now, force=False):
        if self.costmap is not None and self._costmap_dirty and (
                force or now - self._costmap_time >= self.params['costmap_period']):
            self.costmap.update()
            self._costmap_dirty = False
            self._costmap_time = now

    def _path_blocked(self):
        """True when a cell on the rest of the path is now lethal/inscribed (known)."""
        if self.path.shape[0] == 0 or self.costmap is None:
            return False
        rest = self.path[self.controller.index:]
        # skip the stretch under the robot itself (it may stand in the inflated band)
        rest = rest[2:]
        if rest.shape[0] == 0:
            return False
        c = self.costmap.cost_at(rest[:, 0], rest[:, 1])
        return bool(np.any((c >= INSCRIBED) & (c != NO_INFORMATION)))

    def _plan(self, now, pose):
        """PLANNING: plan to the goal or the next frontier; moves to FOLLOWING/EXPLORING/FAILED."""
        self._refresh_costmap(now, force=True)
        self._last_plan_time = now
        if self.exploring:
            return self._plan_frontier(now, pose)
        gx, gy, gyaw = self.goal
        # a tight passage is tried until the robot gets stuck in it once; then only paths with
        # the planner's full margin count
        res = self.planner.plan(self.costmap, pose[:2], (gx, gy),
                                allow_tight=self.status.recoveries == 0)
        if not res.ok:
            return False, res.reason
        self._set_path(res.path, gyaw)
        self.status.distance_remaining = res.length
        msg = 'following a %.2f m path' % res.length
        if res.reason:
            msg += ' (%s)' % res.reason
        self._set_state(FOLLOWING, msg)
        return True, ''

    def _plan_frontier(self, now, pose):
        while True:
            # reachability as the planner's tight fallback sees it (cost < INSCRIBED) while no
            # recovery was needed for this target
            reach = self.planner.traversable(
                self.costmap, INSCRIBED - 1 if self.status.recoveries == 0 else None)
            best, frontiers = self.explorer.select(self.grid, self.costmap, pose[:2], reach)
            self._frontier_check_time = now
            self._frontier_map_version = self.map_version
            if best is None:
                self.exploring = False
                self._set_path(np.zeros((0, 2)))
                n_left = len(frontiers)
                self._set_state(SUCCEEDED, 'exploration complete: no reachable frontier left'
                                + (' (%d unreachable)' % n_left if n_left else ''))
                return True, ''
            res = self.planner.plan(self.costmap, pose[:2], best.target,
                                    allow_tight=self.status.recoveries == 0)
            if res.ok:
                self.goal = (best.target[0], best.target[1], None)
                self._set_path(res.path, None)
                self.status.distance_remaining = res.length
                self._set_state(EXPLORING, 'to frontier at (%.2f, %.2f), %d cells, %d '
                                'frontiers' % (best.target[0], best.target[1], best.size,
                                               len(frontiers)))
                self._progress_best = float('inf')
                self._progress_time = None
                return True, ''
            self.explorer.mark_unreachable(best.target)

    def _frontier_still_valid(self):
        if self.goal is None or self.grid is None:
            return False
        r, c = self.costmap.world_to_cell(self.goal[0], self.goal[1])
        k = int(math.ceil(0.5 / self.costmap.resolution))
        r0, c0 = max(0, r - k), max(0, c - k)
        return bool(np.any(frontier_mask(self.grid[r0:r + k + 1, c0:c + k + 1])))

    def _start_recovery(self, now, pose, why):
        p = self.params
        if self.status.recoveries >= p['max_recoveries']:
            self._fail_task('%s; gave up after %d recoveries' % (why, self.status.recoveries))
            return
        self.status.recoveries += 1
        # alternate: spin first (sees around, clears stale marks), then back up
        kind = 'spin' if self.status.recoveries % 2 == 1 else 'backup'
        self._recovery = {'kind': kind, 'start': now, 'pose': tuple(pose), 'turned': 0.0,
                          'last_yaw': pose[2]}
        self._set_state(RECOVERING, '%s: recovery %d (%s)' % (why, self.status.recoveries, kind))

    def _fail_task(self, reason):
        if self.exploring and self.goal is not None:
            # one unreachable frontier does not end the exploration
            self.explorer.mark_unreachable(self.goal[:2])
            self.status.recoveries = 0
            self._recovery = None
            self._set_state(PLANNING, reason + '; trying another frontier')
            return
        self.fail(reason)

    def _recover(self, now, pose, v_prev, w_prev, dt):
        rec = self._recovery
        p = self.params
        ctl = self.controller
        elapsed = now - rec['start']
        if rec['kind'] == 'spin':
            rec['turned'] += abs(wrap_angle(pose[2] - rec['last_yaw']))
            rec['last_yaw'] = pose[2]
            if rec['turned'] >= p['spin_angle'] or elapsed > 2.0 * p['spin_angle'] / 0.5 + 2.0:
                return None
            return ctl._limit(0.0, 1.0, v_prev, w_prev, dt)
        backed = math.hypot(pose[0] - rec['pose'][0], pose[1] - rec['pose'][1])
        speed = -0.1
        free = ctl.free_distance(self.costmap, pose, speed, 0.0, horizon=0.5)
        if (backed >= p['backup_distance'] or elapsed > 3.0 * p['backup_distance'] / 0.1 + 2.0
                or free < ctl.stop_margin + 0.02):
            return None
        return ctl._limit(speed, 0.0, v_prev, w_prev, dt)

    # --- main -----------------------------------------------------------------------------
    def step(self, now, pose, v_prev=None, w_prev=None, dt=0.05):
        """One control cycle at time ``now`` [s] with the robot's map pose (x, y, yaw).
        v_prev/w_prev: the last command (defaults to the navigator's own). Returns (v, w)."""
        if v_prev is None:
            v_prev, w_prev = self._cmd
        pose = (float(pose[0]), float(pose[1]), float(pose[2]))
        state = self.status.state
        if state in (IDLE, SUCCEEDED, FAILED):
            self._cmd = (0.0, 0.0)
            return self._cmd
        if self.costmap is None:
            self._set_state(PLANNING, 'waiting for a map on "map"')
            self._cmd = (0.0, 0.0)
            return self._cmd
        self._refresh_costmap(now)
        if state == PLANNING:
            ok, reason = self._plan(now, pose)
            if not ok:
                if self.status.recoveries or self.status.replans:
                    self._start_recovery(now, pose, reason)
                else:
                    self._fail_task(reason)
            return self._brake(v_prev, w_prev, dt)
        if state == RECOVERING:
            cmd = self._recover(now, pose, v_prev, w_prev, dt)
            if cmd is None:
                self._recovery = None
                self._progress_best = float('inf')
                self._progress_time = None
                self._set_state(PLANNING, 'recovery %d done, replanning' % self.status.recoveries)
                return self._brake(v_prev, w_prev, dt)
            self._cmd = cmd
            return cmd
        # FOLLOWING / EXPLORING
        if self.exploring and (self.map_version != self._frontier_map_version and
                               now - self._frontier_check_time >= self.params['frontier_period']):
            self._frontier_check_time = now
            self._frontier_map_version = self.map_version
            if not self._frontier_still_valid():
                self.explorer.mark_unreachable(self.goal[:2])  # explored: do not pick it again
                self._set_state(PLANNING, 'frontier explored, choosing the next one')
                return self._brake(v_prev, w_prev, dt)
        if self._path_blocked() and now - self._last_plan_time >= self.params['replan_period']:
            self.status.replans += 1
            self._set_state(PLANNING, 'path blocked, replanning')
            return self._brake(v_prev, w_prev, dt)
        out = self.controller.compute(pose, v_prev, w_prev, dt, self.costmap)
        self.status.distance_remaining = self.controller.remaining_distance(pose)
        if out.done:
            if self.exploring:
                self.explorer.mark_unreachable(self.goal[:2])  # visited: do not pick it again
                self._set_state(PLANNING, 'frontier reached, choosing the next one')
            else:
                self._set_path(np.zeros((0, 2)))
                self._set_state(SUCCEEDED, 'goal reached')
            self._cmd = (0.0, 0.0)
            return self._cmd
        # progress watchdog
        progress = self.status.distance_remaining
        if out.mode.startswith('rotate') and abs(w_prev) > 0.1:
            self._progress_time = now  # turning on the spot is progress
        if self._progress_time is None or progress < self._progress_best - \
                self.params['progress_distance']:
            self._progress_best = progress
            self._progress_time = now
        elif now - self._progress_time > self.params['stuck_timeout']:
            self._start_recovery(now, pose, 'no progress for %.0f s'
                                 % self.params['stuck_timeout'])
            return self._brake(v_prev, w_prev, dt)
        self._cmd = (out.v, out.w)
        return self._cmd

    def _brake(self, v_prev, w_prev, dt):
        self._cmd = self.controller._limit(0.0, 0.0, v_prev, w_prev, dt)
        return self._cmd
