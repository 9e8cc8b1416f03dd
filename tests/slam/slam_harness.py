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


def drive(world, waypoints, start=None, rate=10.0, speed=0.3, max_w=1.2, seed=1, beams=G4_BEAMS,
          max_range=G4_MAX_RANGE, range_noise=0.01, max_steps=5000, odometry=None):
    """Yield samples dicts {t, truth, odom, ranges, angle_min, angle_increment} along waypoints."""
    from nanorover_sim.raycast import cast_rays
    rng = np.random.RandomState(seed + 1000)
    pose = np.array(start if start is not None else world.start_pose, dtype=float)
    odom = odometry or DriftingOdometry(np.zeros(3), seed)
    dt = 1.0 / rate
    angle_min = -math.pi
    inc = 2 * math.pi / beams
    angles_local = angle_min + inc * np.arange(beams)
    wp = list(waypoints)
    t = 0.0
    k = 0
    while wp and k < max_steps:
        lx, ly = se2_compose(pose, (LASER_X, 0.0, 0.0))[:2]
        r = cast_rays(world, None, lx, ly, angles_local + pose[2], max_range)
        r = r + range_noise * rng.randn(beams)
        r[r >= max_range - 1e-6] = float('inf')
        yield {'t': t, 'truth': pose.copy(), 'odom': odom.pose.copy(), 'ranges': r,
               'angle_min': angle_min, 'angle_increment': inc, 'range_min': 0.12,
               'range_max': max_range}
        # go-to-waypoint controller (rotate in place on large heading errors)
        dx, dy = wp[0][0] - pose[0], wp[0][1] - pose[1]
        if math.hypot(dx, dy) < 0.15:
            wp.pop(0)
            continue
        err = wrap_angle(math.atan2(dy, dx) - pose[2])
        w = max(-max_w, min(max_w, 2.5 * err))
        v = speed * max(0.0, math.cos(err)) if abs(err) < 0.6 else 0.0
        pose = se2_compose(pose, unicycle_delta(v, w, dt))
        odom.step(v, w, dt)
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
