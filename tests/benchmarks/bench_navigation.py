#!/usr/bin/env python3
"""Embedded navigator benchmark: 20 seeded random goals in each shipped world, closed loop, no ROS.

Loop (20 Hz): nanorover_sim.diffdrive.DiffDrive (limits, collision counting against walls AND the
objects) <- Navigator.step(true pose) <- live scans from nanorover_sim.raycast at 10 Hz (the objects
are not in the static map: the navigator only learns them from the scans). Localisation is perfect
(the true pose): the SLAM's accuracy is benchmarked separately.

Baselines computed in the same run:
  * optimal grid path: scipy Dijkstra, 8-connected, over the cells where the robot's disc is free in
    the TRUE world (walls + objects): the shortest path a grid planner with full knowledge finds;
  * straight-line distance start -> goal;
  * time: optimal length / max_linear_velocity (the fastest possible traversal).
Figures printed as ratios against these.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'navigation'))
from nav_harness import ClosedLoop, load_robot_config  # noqa: E402
from nanorover_navigation.navigator import STATE_NAMES, SUCCEEDED, Navigator  # noqa: E402
from nanorover_navigation.planner import grid_distances  # noqa: E402
from nanorover_sim.world import load_world  # noqa: E402

WORLDS = ('room', 'office', 'hall')
DT = 0.05
SCAN_EVERY = 4          # 5 Hz scans (the sim ray caster dominates the run time)
N_BEAMS = 240
SCAN_RANGE = 3.5        # > obstacle_range 2.5 and raytrace_range 3.0 of the navigator


def free_mask(world, radius):
    rows, cols = world.grid.shape
    rr, cc = np.indices((rows, cols))
    x, y = world.cell_center(rr, cc)
    return world.is_free(x, y, radius)


def pick_goal(rng, world, mask, roomy, pose, min_dist=1.0):
    """A random cell of ``roomy`` (10 cm more clearance than the robot needs) reachable from
    ``pose`` in the true world; returns (goal (x, y, yaw), optimal grid path length)."""
    r0, c0 = world.world_to_cell(pose[0], pose[1])
    dist = grid_distances(mask, (int(r0), int(c0)), world.info.resolution)
    cand = np.argwhere(roomy & np.isfinite(dist) & (dist >= min_dist))
    if cand.shape[0] == 0:
        return None, None
    r, c = cand[rng.integers(cand.shape[0])]
    x, y = world.cell_center(r, c)
    return (float(x), float(y), float(rng.uniform(-math.pi, math.pi))), float(dist[r, c])


def run_world(name, n_goals, seed, robot_cfg, verbose=False):
    world = load_world(name)
    radius = float(robot_cfg['robot']['radius'])
    mask = free_mask(world, radius)
    roomy = free_mask(world, radius + 0.10)
    rng = np.random.default_rng(seed)
    nav = Navigator(robot_cfg)
    nav.set_map(world.grid, world.info.resolution, world.info.origin)
    loop = ClosedLoop(world, robot_cfg, nav, dt=DT, scan_every=SCAN_EVERY, n_beams=N_BEAMS,
                      scan_range=SCAN_RANGE, seed=seed)
    drive = loop.drive
    max_v = float(robot_cfg['robot']['max_linear_velocity'])
    rows = []
    for k in range(n_goals):
        goal, optimal = pick_goal(rng, world, mask, roomy, drive.pose)
        if goal is None:
            break
        start = drive.pose
        straight = math.hypot(goal[0] - start[0], goal[1] - start[1])
        nav.set_goal(*goal)
        d0 = drive.distance
        c0 = drive.collisions
        wall0 = time.perf_counter()
        elapsed = loop.run(4.0 * optimal / max_v + 30.0)
        wall = time.perf_counter() - wall0
        st = nav.status
        ok = st.state == SUCCEEDED
        err_xy = math.hypot(drive.pose[0] - goal[0], drive.pose[1] - goal[1])
        err_yaw = abs((drive.pose[2] - goal[2] + math.pi) % (2 * math.pi) - math.pi)
        rows.append(dict(ok=ok, driven=drive.distance - d0, optimal=optimal, straight=straight,
                         time=elapsed, collisions=drive.collisions - c0, replans=st.replans,
                         recoveries=st.recoveries, err_xy=err_xy, err_yaw=err_yaw, wall=wall,
                         state=STATE_NAMES[st.state], msg=st.message))
        if verbose or not ok:
            print('  %s goal %2d (%.2f, %.2f): %s %r driven %.2f opt %.2f t %.1f s coll %d '
                  'replans %d rec %d' % (name, k, goal[0], goal[1], STATE_NAMES[st.state],
                                         st.message, drive.distance - d0, optimal, elapsed,
                                         drive.collisions - c0, st.replans, st.recoveries))
        if not ok:
            nav.cancel()
    return rows, max_v


def summarise(name, rows, max_v):
    ok = [r for r in rows if r['ok']]
    n = len(rows)
    coll = sum(r['collisions'] for r in rows)
    if ok:
        drv = np.array([r['driven'] / r['optimal'] for r in ok])
        opt_straight = np.array([r['optimal'] / max(r['straight'], 1e-6) for r in ok])
        tim = np.array([r['time'] / (r['optimal'] / max_v) for r in ok])
        exy = np.array([r['err_xy'] for r in ok])
    else:
        drv = opt_straight = tim = exy = np.array([float('nan')])
    print('%-7s success %2d/%2d (%.0f%%)  collisions %d  driven/optimal-grid %.3f (median %.3f, '
          'max %.3f)  optimal/straight %.3f  time/(optimal/v_max) %.2f  final xy err %.3f m  '
          'replans %d  recoveries %d  wall %.1f s' % (
              name, len(ok), n, 100.0 * len(ok) / max(n, 1), coll, drv.mean(), np.median(drv),
              drv.max(), opt_straight.mean(), tim.mean(), exy.mean(),
              sum(r['replans'] for r in rows), sum(r['recoveries'] for r in rows),
              sum(r['wall'] for r in rows)))
    return len(ok), n, coll


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--goals', type=int, default=20)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--worlds', nargs='*', default=list(WORLDS))
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)
    robot_cfg = load_robot_config()
    t0 = time.perf_counter()
    total_ok = total_n = total_coll = 0
    print('navigation benchmark: %d seeded goals per world, closed loop at %.0f Hz, live scans '
          '%d beams at %.0f Hz' % (args.goals, 1 / DT, N_BEAMS, 1 / (DT * SCAN_EVERY)))
    for name in args.worlds:
        rows, max_v = run_world(name, args.goals, args.seed, robot_cfg, args.verbose)
        ok, n, coll = summarise(name, rows, max_v)
        total_ok += ok
        total_n += n
        total_coll += coll
    print('ALL     success %d/%d (%.0f%%)  collisions %d  (%.1f s wall)' % (
        total_ok, total_n, 100.0 * total_ok / max(total_n, 1), total_coll,
        time.perf_counter() - t0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
