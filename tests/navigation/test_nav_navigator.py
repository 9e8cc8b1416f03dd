"""Navigator state machine in a ROS-free closed loop (nanorover_sim truth, live scans)."""
import math

import numpy as np
import pytest

from nav_harness import ClosedLoop, load_robot_config, make_world, room_grid
from nanorover_navigation.navigator import (EXPLORING, FAILED, FOLLOWING, IDLE, PLANNING,
                                            RECOVERING, SUCCEEDED, Navigator, default_params)
from nanorover_sim.world import WorldObject


@pytest.fixture(scope='module')
def cfg():
    return load_robot_config()


def states_seen(loop, max_time):
    seen = [loop.nav.status.state]
    t0 = loop.t
    while loop.t - t0 < max_time:
        loop.step()
        s = loop.nav.status.state
        if not seen or seen[-1] != s:
            seen.append(s)
        if s in (SUCCEEDED, FAILED):
            break
    return seen


def test_goal_reached_with_status_sequence(cfg):
    world = make_world(room_grid(4.0, 3.0), start=(0.6, 0.6, 0.0))
    nav = Navigator(cfg)
    nav.set_map(world.grid, 0.05, (0.0, 0.0))
    loop = ClosedLoop(world, cfg, nav)
    nav.set_goal(3.2, 2.3, math.pi / 2)
    seen = states_seen(loop, 40.0)
    assert seen[:3] == [PLANNING, FOLLOWING, SUCCEEDED], seen
    x, y, th = loop.drive.pose
    assert math.hypot(x - 3.2, y - 2.3) <= nav.params['xy_goal_tolerance'] + 0.01
    assert abs(math.atan2(math.sin(th - math.pi / 2), math.cos(th - math.pi / 2))) <= 0.2
    assert loop.drive.collisions == 0
    assert nav.status.message == 'goal reached'
    # and it stays put afterwards
    assert loop.step() == (0.0, 0.0)


def test_unknown_object_is_avoided_by_replanning(cfg):
    """A box not in the map blocks the straight path: scans mark it, the path is replanned."""
    grid = room_grid(5.0, 3.0)
    world = make_world(grid, start=(0.6, 1.5, 0.0))
    world.objects.append(WorldObject('box', 2.5, 1.5, 0.0, (0.6, 0.6, 0.4)))
    world.__init__(world.name, world.grid, world.info, world.objects, world.start_pose)
    nav = Navigator(cfg)
    nav.set_map(grid, 0.05, (0.0, 0.0))          # the map does not have the box
    loop = ClosedLoop(world, cfg, nav)
    nav.set_goal(4.3, 1.5)
    nav.step(0.0, loop.drive.pose)                  # first plan before any scan
    first = nav.path.copy()
    assert np.any(np.abs(first[:, 0] - 2.5) < 0.2)  # straight through the box
    loop.run(60.0)
    assert nav.status.state == SUCCEEDED, nav.status
    assert nav.status.replans >= 1
    assert loop.drive.collisions == 0
    xy = np.array(loop.poses)[:, :2]
    # the box's half diagonal is 0.42 m: the robot's centre never came within its radius of it
    assert np.hypot(xy[:, 0] - 2.5, xy[:, 1] - 1.5).min() > 0.3 + 0.14


def test_unreachable_goal_fails_with_the_reason(cfg):
    grid = room_grid(4.0, 3.0)
    grid[:, 40] = 100                               # a wall splits the room
    world = make_world(grid, start=(0.6, 1.5, 0.0))
    nav = Navigator(cfg)
    nav.set_map(grid, 0.05, (0.0, 0.0))
    loop = ClosedLoop(world, cfg, nav)
    nav.set_goal(3.0, 1.5)
    loop.run(5.0)
    assert nav.status.state == FAILED and 'unreachable' in nav.status.message
    nav.set_goal(9.0, 1.5)
    loop.run(5.0)
    assert nav.status.state == FAILED and 'outside the map' in nav.status.message
    assert loop.step() == (0.0, 0.0)


def test_blocked_corridor_recovers_then_gives_up(cfg):
    """An obstacle closes the only corridor after planning: when the scans show it the path is
    blocked, replanning finds nothing, recoveries run, then FAILED with the reason."""
    grid = np.full((20, 100), 100, dtype=np.int8)
    grid[2:18, 1:99] = 0                            # corridor 0.8 m wide, 5 m long
    world = make_world(grid, start=(0.5, 0.5, 0.0))
    world.objects.append(WorldObject('box', 3.0, 0.5, 0.0, (1.0, 0.3, 0.4)))  # y 0..1 m
    world.__init__(world.name, world.grid, world.info, world.objects, world.start_pose)
    params = default_params()
    params.update(stuck_timeout=2.0, max_recoveries=2)
    nav = Navigator(cfg, params)
    nav.set_map(grid, 0.05, (0.0, 0.0))
    loop = ClosedLoop(world, cfg, nav)
    nav.set_goal(4.5, 0.5)
    nav.step(0.0, loop.drive.pose)                  # planned before the box was seen
    seen = states_seen(loop, 90.0)
    assert seen[0] == FOLLOWING and seen[-1] == FAILED, seen
    assert seen.count(RECOVERING) == 2, seen
    assert nav.status.replans >= 1, nav.status
    assert 'unreachable' in nav.status.message and 'gave up after 2 recoveries' in \
        nav.status.message, nav.status
    assert loop.drive.collisions == 0
    assert max(p[0] for p in loop.poses) < 3.0 - 0.15 - 0.14   # never reached the box
    assert loop.step() == (0.0, 0.0)


def test_cancel_and_waiting_for_a_map(cfg):
    nav = Navigator(cfg)
    nav.set_goal(1.0, 1.0)
    assert nav.step(0.0, (0.0, 0.0, 0.0)) == (0.0, 0.0)
    assert nav.status.state == PLANNING and 'map' in nav.status.message
    nav.cancel()
    assert nav.status.state == IDLE


def test_inflation_smaller_than_robot_is_rejected(cfg):
    with pytest.raises(ValueError):
        Navigator(cfg, {'inflation_radius': 0.15})


def test_exploration_maps_a_small_world_and_terminates(cfg):
    """Two rooms joined by a door, mapped from 2 m scans (the SLAM's log-odds grid): exploring
    drives through the door and ends by itself with most of the free space known."""
    grid = room_grid(6.0, 3.0)
    grid[:, 60] = 100
    grid[6:22, 60] = 0                              # a 0.8 m door at x = 3 m, y 0.3..1.1
    world = make_world(grid, start=(0.8, 2.2, 0.0))
    nav = Navigator(cfg)
    loop = ClosedLoop(world, cfg, nav, mapper=True, scan_range=2.0, n_beams=180)
    nav.start_exploration()
    seen = states_seen(loop, 400.0)
    assert nav.status.state == SUCCEEDED and 'exploration complete' in nav.status.message, \
        (nav.status, seen)
    assert EXPLORING in seen
    assert loop.drive.collisions == 0
    assert max(p[0] for p in loop.poses) > 3.5      # it went through the door
    # coverage: free cells of the true world that the map knows as free
    known = loop.mapper.to_grid()
    info = loop.mapper.info()
    rows, cols = np.nonzero(grid == 0)
    xs, ys = world.cell_center(rows, cols)
    kr = np.floor((ys - info.origin[1]) / info.resolution).astype(int)
    kc = np.floor((xs - info.origin[0]) / info.resolution).astype(int)
    ok = (kr >= 0) & (kr < known.shape[0]) & (kc >= 0) & (kc < known.shape[1])
    mapped = np.zeros(rows.shape, bool)
    mapped[ok] = (known[kr[ok], kc[ok]] >= 0) & (known[kr[ok], kc[ok]] < 50)
    assert mapped.mean() > 0.9, mapped.mean()
