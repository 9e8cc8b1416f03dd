"""Offline SLAM evaluation harness (ROS-free): drive a scripted loop in a simulator world, feed
scans + drifting odometry to the SLAM core, score against ground truth.

Used by tests/slam (short runs) and tests/benchmarks/bench_slam.py (the full office loop).
The world and ray casting come from nanorover_sim; odometry drift from nanorover_sim.diffdrive
when it exists, else from the seeded drift model below (scale errors + yaw bias + noise).
"""
import math

import numpy as np

from nanorover_navigation.evaluation import ate
from nanorover_navigation.geometry import se2_compose, wrap_angle
from nanorover_navigation.slam import Slam

# the office corridor loop around the central block (x 4.6..9.4, y 3.6..6.4), passing the
# person/cone/box objects standing in the corridors; ends past the start to close the loop
OFFICE_LOOP = [(6.2, 3.25), (7.8, 3.25), (9.9, 2.8), (9.9, 7.0), (4.1, 7.0), (4.1, 3.0),
               (3.8, 2.8), (6.2, 3.25), (7.8, 3.25)]

G4_BEAMS = 900
G4_MAX_RANGE = 16.0
LASER_X = 0.03


class DriftingOdometry(object):
    """Seeded odometry error model: wheel scale errors, a yaw-rate bias and white noise."""

    def __init__(self, start, seed=1, scale_v=0.03, scale_w=0.04, yaw_bias=0.01, noise_v=0.01,
                 noise_w=0.02):
        rng = np.random.RandomState(seed)
        self.rng = rng
        self.kv = 1.0 + scale_v * (2 * rng.rand() - 1)
        self.kw = 1.0 + scale_w * (2 * rng.rand() - 1)
        self.bias = yaw_bias * (1 if rng.rand() > 0.5 else -1)
        self.noise_v = noise_v
        self.noise_w = noise_w
        self.pose = np.asarray(start, dtype=float).copy()

    def step(self, v, w, dt):
        vm = v * self.kv + self.noise_v * self.rng.randn() * abs(v)
        wm = w * self.kw + self.bias * (1.0 if abs(v) + abs(w) > 1e-6 else 0.0) \
            + self.noise_w * self.rng.randn() * (abs(w) + abs(v))
        self.pose = se2_compose(self.pose, unicycle_delta(vm, wm, dt))
        return self.pose.copy()


def unicycle_delta(v, w, dt):
    th = w * dt
    if abs(th) < 1e-9:
        return np.array([v * dt, 0.0, 0.0])
    r = v / w
    return np.array([r * math.sin(th), r * (1 - math.cos(th)), th])


class _SimRobot(object):
    """True pose + drifting odometry: nanorover_sim.diffdrive.DiffDrive when present (limits,
    seeded wheel calibration error and slip), else DriftingOdometry on exact kinematics."""

    def __init__(self, start, seed):
        try:
            from nanorover_sim.diffdrive import DiffDrive, load_robot_config
            self.dd = DiffDrive(load_robot_config(), seed=seed, start=tuple(start))
            self.source = 'nanorover_sim.diffdrive'
        except ImportError:
            self.dd = None
            self.pose = np.asarray(start, dtype=float)
            self.odom = DriftingOdometry(np.zeros(3), seed)
            self.source = 'test drift model'

    def step(self, v, w, dt):
        if self.dd is not None:
            self.dd.step(v, w, dt)
        else:
            self.pose = se2_compose(self.pose, unicycle_delta(v, w, dt))
            self.odom.step(v, w, dt)

    @property
    def truth(self):
        return np.array(self.dd.pose) if self.dd is not None else self.pose.copy()

    @property
    def odom_pose(self):
        return np.array(self.dd.odom_pose) if self.dd is not None else self.odom.pose.copy()


class _Lidar(object):
    """nanorover_sim.lidar.LidarModel (G4 noise, dropouts) when it works, else ray casting +
    Gaussian noise. Ranges of no-return beams are inf."""

    def __init__(self, world, seed, range_noise, max_range):
        self.world = world
        self.rng = np.random.RandomState(seed + 1000)
        self.range_noise = range_noise
        self.max_range = max_range
        self.model = None
        try:
            from nanorover_sim.diffdrive import load_robot_config
            from nanorover_sim.lidar import LidarModel
            model = LidarModel(world, load_robot_config(), seed=seed)
            model.ranges(world.start_pose, np.zeros(3))
            self.model = model
            self.source = 'nanorover_sim.lidar'
        except Exception:   # absent or its API still changing: plain ray casting
            self.source = 'ray casting + %.3f m noise' % range_noise

    def ranges(self, pose, angles):
        if self.model is not None:
            r = self.model.ranges(tuple(pose), angles)
            r = np.where(r <= 0.0, np.inf, r)
            return r
        from nanorover_sim.raycast import cast_rays
        lx, ly = se2_compose(pose, (LASER_X, 0.0, 0.0))[:2]
        r = cast_rays(self.world, None, lx, ly, angles + pose[2], self.max_range)
        r = r + self.range_noise * self.rng.randn(len(angles))
        r[r >= self.max_range - 1e-6] = float('inf')
        return r


def drive(world, waypoints, start=None, rate=10.0, speed=0.3, max_w=1.2, seed=1, beams=G4_BEAMS,
          max_range=G4_MAX_RANGE, range_noise=0.01, max_steps=5000):
    """Yield sample dicts {t, truth, odom, ranges, angle_min, angle_increment, ...} while a
    go-to-waypoint controller drives the robot along ``waypoints``."""
    robot = _SimRobot(start if start is not None else world.start_pose, seed)
    lidar = _Lidar(world, seed, range_noise, max_range)
    drive.sources = (robot.source, lidar.source)
    dt = 1.0 / rate
    angle_min = -math.pi
    inc = 2 * math.pi / beams
    angles = angle_min + inc * np.arange(beams)
    wp = list(waypoints)
    t = 0.0
    k = 0
    while wp and k < max_steps:
        pose = robot.truth
        yield {'t': t, 'truth': pose, 'odom': robot.odom_pose, 'ranges': lidar.ranges(pose, angles),
               'angle_min': angle_min, 'angle_increment': inc, 'range_min': 0.12,
               'range_max': max_range}
        # go-to-waypoint controller (rotate in place on large heading errors)
        while wp and math.hypot(wp[0][0] - pose[0], wp[0][1] - pose[1]) < 0.15:
            wp.pop(0)
        if not wp:
            break
        err = wrap_angle(math.atan2(wp[0][1] - pose[1], wp[0][0] - pose[0]) - pose[2])
        w = max(-max_w, min(max_w, 2.5 * err))
        v = speed * max(0.0, math.cos(err)) if abs(err) < 0.6 else 0.0
        robot.step(v, w, dt)
        t += dt
        k += 1


def record(world_name='office', waypoints=None, **kw):
    from nanorover_sim.world import load_world
    world = load_world(world_name)
    return list(drive(world, waypoints if waypoints is not None else OFFICE_LOOP, **kw))


def run_slam(samples, config=None):
    """Feed recorded samples to a fresh Slam; returns (slam, est[N,3], truth[N,3], odom[N,3])."""
    cfg = {'laser_x': LASER_X}
    cfg.update(config or {})
    slam = Slam(cfg)
    est = []
    for s in samples:
        est.append(slam.process(s['t'], s['ranges'], s['angle_min'], s['angle_increment'],
                                s['range_min'], s['range_max'], s['odom']))
    truth = np.array([s['truth'] for s in samples])
    odom = np.array([s['odom'] for s in samples])
    return slam, np.array(est), truth, odom


def keyframe_trajectory(slam, samples):
    """Optimised keyframe poses and the ground truth at the same scans."""
    by_t = {s['t']: s for s in samples}
    est = slam.keyframe_poses()
    truth = np.array([by_t[kf.stamp]['truth'] for kf in slam.keyframes])
    odom = np.array([by_t[kf.stamp]['odom'] for kf in slam.keyframes])
    return est, truth, odom


def score(est, truth, odom):
    return {'ate_slam': ate(est, truth), 'ate_odom': ate(odom, truth)}
