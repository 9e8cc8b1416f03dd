"""Regulated pure pursuit: limits, stopping before obstacles, rotate in place, goal tolerance."""
import math

import numpy as np
import pytest

from nanorover_navigation.controller import Limits, PurePursuitController
from nanorover_navigation.costmap import Costmap
from nanorover_navigation.navigator import load_robot_config
from nanorover_sim.diffdrive import integrate

DT = 0.05


@pytest.fixture(scope='module')
def robot():
    return load_robot_config()['robot']


def open_costmap(rows=60, cols=120):
    grid = np.zeros((rows, cols), dtype=np.int8)
    return Costmap(grid, 0.05, (0.0, 0.0), 0.14, 0.45, 3.0)


def drive(ctl, pose, costmap, seconds):
    """Unicycle with the commanded velocities (the controller applies the limits itself)."""
    v = w = 0.0
    log = []
    for _ in range(int(seconds / DT)):
        out = ctl.compute(pose, v, w, DT, costmap)
        log.append((out.v, out.w, pose))
        v, w = out.v, out.w
        pose = integrate(pose, v, w, DT)
        if out.done:
            break
    return pose, log


def line(x0, x1, y, n=200):
    return np.stack([np.linspace(x0, x1, n), np.full(n, y)], axis=1)


def test_reaches_goal_within_tolerances_and_respects_limits(robot):
    lim = Limits.from_robot_config(robot)
    ctl = PurePursuitController(lim, xy_tolerance=0.1, yaw_tolerance=0.15)
    path = np.concatenate([line(0.5, 3.0, 1.0), np.stack([np.full(50, 3.0),
                                                          np.linspace(1.0, 2.2, 50)], 1)])
    ctl.set_path(path, goal_yaw=math.pi)
    pose, log = drive(ctl, (0.5, 1.0, 0.0), open_costmap(), 40.0)
    assert log[-1][0] == 0.0 and math.hypot(pose[0] - 3.0, pose[1] - 2.2) <= 0.1
    assert abs((pose[2] - math.pi + math.pi) % (2 * math.pi) - math.pi) <= 0.15
    v = np.array([e[0] for e in log])
    w = np.array([e[1] for e in log])
    assert np.all(np.abs(v) <= lim.max_v + 1e-9) and np.all(np.abs(w) <= lim.max_w + 1e-9)
    dv = np.abs(np.diff(np.concatenate([[0.0], v])))
    dw = np.abs(np.diff(np.concatenate([[0.0], w])))
    assert dv.max() <= lim.max_acc * DT + 1e-9
    assert dw.max() <= lim.max_alpha * DT + 1e-9
    assert v.max() > 0.9 * lim.max_v        # it does use the speed it has


def test_rotates_in_place_when_the_path_is_behind(robot):
    ctl = PurePursuitController(Limits.from_robot_config(robot))
    ctl.set_path(line(1.0, -1.0, 0.0))
    out = ctl.compute((1.0, 0.0, 0.0), 0.0, 0.0, DT, open_costmap())
    assert out.v == 0.0 and abs(out.w) > 0 and out.mode.startswith('rotate')


def test_stops_before_an_obstacle_on_the_path(robot):
    lim = Limits.from_robot_config(robot)
    cm = open_costmap()
    obstacle_x = 2.5
    # an obstacle the path runs straight into (seen by a scan, not in the map)
    ys = np.linspace(0.7, 1.3, 20)
    cm.update_scan((0.5, 1.0), np.stack([np.full(20, obstacle_x), ys], 1), np.ones(20, bool))
    cm.update()
    ctl = PurePursuitController(lim, stop_margin=0.05)
    ctl.set_path(line(0.5, 4.5, 1.0))
    pose, log = drive(ctl, (0.5, 1.0, 0.0), cm, 20.0)
    v = np.array([e[0] for e in log])
    assert v.max() > 0.3                           # it drove towards it at speed...
    assert np.all(v[-20:] == 0.0)                  # ...and came to a stop
    assert log[-1][0] == 0.0 and not log[-1][2] is None
    gap = obstacle_x - pose[0]
    # stopped before touching: centre further than radius + padding from the obstacle cell
    assert gap >= cm.inscribed_radius, gap
    assert gap <= cm.inscribed_radius + 0.25, gap  # and not absurdly early
    out = ctl.compute(pose, 0.0, 0.0, DT, cm)
    assert out.blocked and out.v == 0.0


def test_free_distance_and_safe_speed(robot):
    lim = Limits.from_robot_config(robot)
    ctl = PurePursuitController(lim, stop_margin=0.05)
    cm = open_costmap()
    assert ctl.free_distance(cm, (1.0, 1.5, 0.0), 0.3, 0.0) == float('inf')
    cm.update_scan((1.0, 1.5), [(2.0, 1.5)], [True])
    cm.update()
    d = ctl.free_distance(cm, (1.0, 1.5, 0.0), 0.3, 0.0)
    assert 1.0 - cm.inscribed_radius - 0.1 <= d <= 1.0 - cm.inscribed_radius + 0.05
    assert ctl.safe_speed(0.04) == 0.0
    assert ctl.safe_speed(0.05 + 0.08) == pytest.approx(math.sqrt(2 * lim.max_acc * 0.08))
    # backwards along -x nothing is in the way
    assert ctl.free_distance(cm, (1.0, 1.5, 0.0), -0.1, 0.0) == float('inf')
