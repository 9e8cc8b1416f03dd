"""The ROS-free simulator core: command timeout, sim clock, pose history, lidar ranges."""
import math

import numpy as np
import pytest

from nanorover_sim.engine import SimEngine


@pytest.fixture
def engine():
    eng = SimEngine('room', seed=3, rate=100.0, cmd_timeout=0.5)
    yield eng
    eng.stop()


def test_clock_and_stale_command_stops(engine):
    assert engine.time == 0.0 and engine.robot.pose == pytest.approx((1.0, 1.5, 0.0))
    engine.set_cmd(0.3, 0.0)
    engine.step(40)
    assert engine.time == pytest.approx(0.4)
    assert engine.robot.v == pytest.approx(0.3)
    engine.step(200)          # no new command: stop after 0.5 s (sim), decelerating
    assert engine.robot.v == 0.0
    x = engine.robot.pose[0]
    engine.step(50)
    assert engine.robot.pose[0] == x
    with pytest.raises(ValueError):
        engine.set_cmd(float('nan'), 0.0)


def test_pose_history_interpolates(engine):
    engine.set_cmd(0.2, 0.0)
    engine.step(100)
    p_a = engine.pose_at(0.50)
    p_b = engine.pose_at(0.51)
    mid = engine.pose_at(0.505)
    assert mid[0] == pytest.approx((p_a[0] + p_b[0]) / 2)
    assert engine.pose_at(99.0) == engine.robot.pose


def test_lidar_ranges_in_laser_frame(engine):
    lid = engine.lidar
    angles = np.array([0.0, math.pi / 2, math.pi, -math.pi / 2])
    # laser 3 cm ahead of base_footprint at (1.0, 1.5), room interior [0, 5] x [0, 4]
    expect = [5.0 - 1.03, 2.5, 1.03, 1.5]
    assert lid.ranges(engine.robot.pose, angles, noise=False) == pytest.approx(expect, abs=1e-9)
    many = np.repeat(angles, 500)
    noisy = lid.ranges(engine.robot.pose, many).reshape(4, 500)
    valid = noisy > 0
    assert 0.9 < valid.mean() < 1.0            # a few dropouts
    for k in range(4):
        r = noisy[k][valid[k]]
        assert np.median(r) == pytest.approx(expect[k], abs=0.01)
        assert 0.003 < r.std() < 0.05
    # too close for the G4 (range_min 0.28 m at 9 kHz): no return
    near_wall = (0.2, 1.5, math.pi)
    assert lid.ranges(near_wall, np.array([0.0]))[0] == 0.0
    # the emulator's range_fn uses the pose at the requested sim time
    engine.set_cmd(0.2, 0.0)
    engine.step(100)
    d_then = engine.lidar_range_fn(np.zeros(1), 0.0)[0]
    d_now = engine.lidar_range_fn(np.zeros(1), engine.time)[0]
    assert d_then - d_now == pytest.approx(engine.robot.pose[0] - 1.0, abs=0.08)
