"""nanorover_base.kinematics: limits, ramps and odometry with the numbers of config/robot.yaml."""
import math
from pathlib import Path

import pytest

from nanorover_base.kinematics import (ConfigError, DiffDrive, Odometry, load_robot_config,
                                       wrap_delta)

CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'robot.yaml'


@pytest.fixture
def robot():
    return load_robot_config(str(CONFIG))


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        load_robot_config(str(tmp_path / 'none.yaml'))
    bad = tmp_path / 'r.yaml'
    bad.write_text('robot: {wheel_radius: 0.03}\n')
    with pytest.raises(ConfigError, match='wheel_base'):
        load_robot_config(str(bad))
    bad.write_text('robot: [1, 2]\n')
    with pytest.raises(ConfigError, match='robot'):
        load_robot_config(str(bad))


def test_wheel_speeds_and_inverse(robot):
    d = DiffDrive(robot)
    r, b = robot['wheel_radius'], robot['wheel_base']
    left, right = d.wheel_speeds(0.2, 1.0)
    assert left == pytest.approx((0.2 - b / 2) / r) and right == pytest.approx((0.2 + b / 2) / r)
    assert d.twist(left, right) == pytest.approx((0.2, 1.0))


def test_velocity_limits_and_nan(robot):
    d = DiffDrive(robot)
    assert d.limit(5.0, -9.0) == (robot['max_linear_velocity'], -robot['max_angular_velocity'])
    assert d.limit(float('nan'), float('inf')) == (0.0, 0.0)


def test_acceleration_ramp(robot):
    d = DiffDrive(robot)
    dt = 0.05
    left, right = d.command(0.4, 0.0, dt)
    assert d.twist(left, right)[0] == pytest.approx(robot['max_linear_accel'] * dt)
    for _ in range(100):
        left, right = d.command(0.4, 0.0, dt)
    assert d.twist(left, right)[0] == pytest.approx(0.4)
    assert d.command(0.0, 0.0, 0.0) == (0.0, 0.0)       # dt 0: immediate stop


def test_wrap_delta():
    assert wrap_delta(5, 2 ** 32 - 3) == 8
    assert wrap_delta(-2 ** 31, 2 ** 31 - 1) == 1
    assert wrap_delta(3, 10) == -7


def ticks_for(robot, metres):
    return int(round(metres / (2 * math.pi * robot['wheel_radius'])
                     * robot['encoder_ticks_per_rev']))


def test_odometry_straight_and_turn(robot):
    o = Odometry(DiffDrive(robot))
    assert not o.update(0, 0, 0)
    n = ticks_for(robot, 1.0)
    assert o.update(n, n, 2000000)
    assert (o.x, o.y, o.yaw) == pytest.approx((1.0, 0.0, 0.0), abs=1e-3)
    assert o.v == pytest.approx(0.5, abs=1e-3) and o.w == pytest.approx(0.0)
    # quarter turn in place: each wheel travels b/2 * pi/2
    q = ticks_for(robot, robot['wheel_base'] / 2 * math.pi / 2)
    o.update(n - q, n + q, 3000000)
    assert o.yaw == pytest.approx(math.pi / 2, abs=2e-3)
    assert (o.x, o.y) == pytest.approx((1.0, 0.0), abs=1e-3)
    o.update(n - q + n, n + q + n, 4000000)
    assert (o.x, o.y) == pytest.approx((1.0, 1.0), abs=3e-3)


def test_odometry_arc_matches_circle(robot):
    """Constant wheel speeds: the exact arc integration lands on the circle, any step count."""
    d = DiffDrive(robot)
    v, w = 0.3, 0.8
    left, right = d.wheel_speeds(v, w)
    tpr = robot['encoder_ticks_per_rev'] / (2 * math.pi)
    for steps in (1, 7):
        o = Odometry(d)
        o.update(0, 0, 0)
        for k in range(1, steps + 1):
            t = 2.0 * k / steps
            o.update(int(round(left * t * tpr)), int(round(right * t * tpr)), int(t * 1e6))
        rad = v / w
        th = w * 2.0
        assert (o.x, o.y) == pytest.approx((rad * math.sin(th), rad * (1 - math.cos(th))),
                                           abs=5e-3)


def test_odometry_across_counter_wrap(robot):
    o = Odometry(DiffDrive(robot))
    o.update(2 ** 31 - 100, 2 ** 31 - 100, 2 ** 32 - 500000)
    n = ticks_for(robot, 0.5)
    wrapped = ((2 ** 31 - 100 + n + 2 ** 31) % 2 ** 32) - 2 ** 31
    o.update(wrapped, wrapped, 500000)
    assert o.x == pytest.approx(0.5, abs=1e-3) and o.v == pytest.approx(0.5, abs=1e-3)
