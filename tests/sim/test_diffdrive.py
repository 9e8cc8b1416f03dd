"""Diff-drive kinematics: limits from robot.yaml, exact motion, collisions, seeded odometry drift."""
import math

import pytest

from helpers import box_room
from nanorover_sim.diffdrive import DiffDrive, load_robot_config


@pytest.fixture(scope='module')
def cfg():
    return load_robot_config()


def test_config_is_the_repo_robot_yaml(cfg):
    assert cfg['robot']['radius'] == pytest.approx(0.14)
    assert cfg['lidar']['x'] == pytest.approx(0.03)
    assert cfg['camera']['width'] == 320


def test_acceleration_and_velocity_limits(cfg):
    r = cfg['robot']
    dd = DiffDrive(cfg, slip=(0, 0))
    dd.step(5.0, 50.0, 0.1)
    assert dd.v == pytest.approx(r['max_linear_accel'] * 0.1)
    assert dd.w == pytest.approx(r['max_angular_accel'] * 0.1)
    for _ in range(100):
        dd.step(5.0, 50.0, 0.1)
    assert dd.v == pytest.approx(r['max_linear_velocity'])
    assert dd.w == pytest.approx(r['max_angular_velocity'])
    dd.step(-5.0, 0.0, 0.1)  # braking is limited too
    assert dd.v == pytest.approx(r['max_linear_velocity'] - r['max_linear_accel'] * 0.1)


def test_motion_follows_the_kinematics(cfg):
    dd = DiffDrive(cfg, slip=(0, 0), start=(1.0, 2.0, 0.0))
    for _ in range(100):           # 1 s: ramp to 0.2 m/s in 0.2 s
        dd.step(0.2, 0.0, 0.01)
    # discrete ramp 0.01 m/s per step for 20 steps, then 0.2 m/s for 80 steps
    assert dd.pose[0] == pytest.approx(1.0 + 0.01 * (0.01 * 210 + 0.2 * 80), abs=1e-9)
    assert dd.pose[1] == pytest.approx(2.0) and dd.pose[2] == pytest.approx(0.0)
    dd = DiffDrive(cfg, slip=(0, 0), start=(0.0, 0.0, 0.0))
    for _ in range(100):           # turn on the spot: ramp to 1 rad/s in 0.25 s
        dd.step(0.0, 1.0, 0.01)
    assert dd.pose[2] == pytest.approx(0.01 * (0.04 * 325 + 1.0 * 75), abs=1e-9)
    assert math.hypot(dd.pose[0], dd.pose[1]) < 1e-9
    # odometry without slip equals the true motion, in the odom frame (starts at 0)
    assert dd.odom_pose == pytest.approx(dd.pose, abs=1e-9)


def test_collision_stops_and_counts(cfg):
    world = box_room(3.0, 2.0, start=(1.0, 1.0, 0.0))
    dd = DiffDrive(cfg, slip=(0, 0), world=world)
    stopped = 0
    for _ in range(1000):
        stopped += dd.step(0.4, 0.0, 0.01)
    assert dd.collisions == 1 and stopped > 100
    assert dd.v == 0.0
    # stopped with the footprint clear of the wall at x = 3.0
    assert 3.0 - 0.14 - 0.08 < dd.pose[0] < 3.0 - 0.14   # is_free keeps a margin of < 1.5 cells
    for _ in range(200):           # turning away is allowed, then it drives off the wall
        dd.step(0.0, 2.0, 0.01)
    for _ in range(50):
        assert not dd.step(0.3, 0.0, 0.01)
    dd.step(0.0, 0.0, 0.01)
    assert dd.collisions == 1


def test_odometry_drift_is_seeded(cfg):
    def run(seed):
        dd = DiffDrive(cfg, seed=seed, slip=(0.02, 0.05))
        for i in range(2000):
            dd.step(0.3, 0.4 if (i // 500) % 2 else -0.2, 0.01)
        return dd
    a, b, c = run(1), run(1), run(2)
    assert a.odom_pose == b.odom_pose
    assert a.odom_pose != c.odom_pose
    # the true pose does not depend on the seed; the odometry drifts away from it, but not wildly
    assert a.pose == pytest.approx(c.pose)
    err = math.hypot(a.odom_pose[0] - (a.pose[0]), a.odom_pose[1] - a.pose[1])
    assert 1e-4 < err < 0.5 * a.distance
