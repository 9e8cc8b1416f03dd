"""Embedded SLAM benchmark: speed (scans/s per core) and accuracy (ATE) on the office loop.

Drives the scripted office corridor loop (tests/slam/slam_harness.py) with seeded odometry drift,
~900-beam G4-like scans at 10 Hz, and reports, all measured in this process:
* the full SLAM pipeline's throughput in scans per CPU-second (process time, i.e. per core)
  against the 100 scans/s target (10x real time for a G4 at 10 Hz);
* the scan matcher alone: multi-resolution branch-and-bound vs a naive single-resolution
  brute-force search over the same window and lattice (same result, ratio of speeds);
* ATE (SE(2)-aligned RMSE) of SLAM (keyframes after optimisation, and every scan online) vs the
  odometry-only baseline, and SLAM without loop closure.
Run: python tests/benchmarks/bench_slam.py  (make bench); about 30-60 s.
"""
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'slam'))

import slam_harness as h  # noqa: E402
from nanorover_navigation.evaluation import ate  # noqa: E402
from nanorover_navigation.geometry import transform_points  # noqa: E402
from nanorover_navigation.scan_matcher import (LikelihoodField, brute_force_search,  # noqa: E402
                                               correlative_search, default_theta_step,
                                               scan_to_points, subsample, voxel_filter)

TARGET = 100.0


def cpu_run(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def matcher_comparison(samples, n=60, wxy=0.2, wth=0.15, perturb=(0.1, 0.1, 0.08)):
    """Time the correlative search alone, multi-resolution vs brute force, on n scans each
    matched against the previous ones' submap with a perturbed guess."""
    rng = np.random.RandomState(7)
    idx = np.linspace(20, len(samples) - 1, n).astype(int)
    cases = []
    for k in idx:
        ref = []
        for j in range(k - 20, k, 4):
            s = samples[j]
            p = scan_to_points(s['ranges'], s['angle_min'], s['angle_increment'], 0.12, 12.0,
                               (h.LASER_X, 0.0, 0.0))
            ref.append(transform_points(s['truth'], p))
        field = LikelihoodField(voxel_filter(np.vstack(ref), 0.025), 0.05)
        s = samples[k]
        pts = subsample(scan_to_points(s['ranges'], s['angle_min'], s['angle_increment'], 0.12,
                                       12.0, (h.LASER_X, 0.0, 0.0)), 180)
        guess = s['truth'] + rng.uniform(-1, 1, 3) * perturb
        cases.append((field, pts, guess, s['truth']))
    fast, t_fast = cpu_run(lambda: [correlative_search(f, p, g, wxy, wth,
                                                       default_theta_step(f, p))
                                    for f, p, g, _ in cases])
    slow, t_slow = cpu_run(lambda: [brute_force_search(f, p, g, wxy, wth,
                                                       default_theta_step(f, p))
                                    for f, p, g, _ in cases])
    same = np.mean([abs(a.score - b.score) < 1e-6 for a, b in zip(fast, slow)])
    err = np.mean([np.hypot(*(a.pose[:2] - c[3][:2])) for a, c in zip(fast, cases)])
    return n / t_fast, n / t_slow, same, err


def main():
    t0 = time.time()
    samples = h.record('office', seed=1)
    print('robot/odometry: %s; lidar: %s' % h.drive.sources)
    print('office loop: %d scans (%d beams, %.0f s at 10 Hz), path %.1f m, recorded in %.1f s'
          % (len(samples), len(samples[0]['ranges']), len(samples) / 10.0,
             np.sum(np.hypot(*np.diff([s['truth'][:2] for s in samples], axis=0).T)),
             time.time() - t0))

    (slam, est, truth, odom), cpu = cpu_run(lambda: h.run_slam(samples))
    rate = len(samples) / cpu
    kf_est, kf_truth, _ = h.keyframe_trajectory(slam, samples)
    ate_kf, ate_online, ate_odom = ate(kf_est, kf_truth), ate(est, truth), ate(odom, truth)
    (slam_nl, est_nl, _, _), _ = cpu_run(lambda: h.run_slam(samples, {'loop_closure': False}))
    kf_nl, kf_nl_truth, _ = h.keyframe_trajectory(slam_nl, samples)

    fast, slow, same, err = matcher_comparison(samples)
    lfast, lslow, lsame, lerr = matcher_comparison(samples, 8, 1.0, 0.4, (0.6, 0.6, 0.3))
    # weak tracking (4 m range, 40 beams, 3-keyframe submaps): drift for loop closure to remove
    short = {'max_range': 4.0, 'match_beams': 40, 'submap_keyframes': 3}
    short_ate = {}
    for lc in (True, False):
        cfg = dict(short, loop_closure=lc)
        s_slam, _, _, _ = h.run_slam(samples, cfg)
        e, t_, _ = h.keyframe_trajectory(s_slam, samples)
        short_ate[lc] = (ate(e, t_), s_slam.stats['loops'])

    print('')
    print('SLAM pipeline (match + keyframes + loop closure + map): %.0f scans/s per core '
          '= %.2fx the %.0f scans/s target' % (rate, rate / TARGET, TARGET))
    print('  %d keyframes, %d loop closures (%d attempts, %d rejected)'
          % (slam.stats['keyframes'], slam.stats['loops'], slam.stats['loop_attempts'],
             slam.stats['loops_rejected']))
    print('scan matcher (correlative search, 180 beams, +-0.2 m +-0.15 rad):')
    print('  multi-resolution B&B %.0f scans/s vs brute force %.0f scans/s = %.1fx faster; '
          'same optimum in %.0f %% of scans; mean error %.3f m'
          % (fast, slow, fast / slow, 100 * same, err))
    print('scan matcher, loop-closure window (+-1.0 m, +-0.4 rad):')
    print('  multi-resolution B&B %.1f scans/s vs brute force %.1f scans/s = %.1fx faster; '
          'same optimum in %.0f %% of scans; mean error %.3f m'
          % (lfast, lslow, lfast / lslow, 100 * lsame, lerr))
    print('accuracy (ATE, SE(2)-aligned RMSE vs ground truth):')
    print('  SLAM keyframes (optimised) %.4f m | SLAM every scan (online) %.4f m'
          % (ate_kf, ate_online))
    print('  SLAM without loop closure  %.4f m (keyframes) | %.4f m (online)'
          % (ate(kf_nl, kf_nl_truth), ate(est_nl, truth)))
    print('  odometry only (baseline)   %.4f m  -> SLAM is %.0fx more accurate'
          % (ate_odom, ate_odom / max(ate_kf, 1e-9)))
    print('  target ATE <= 0.10 m (goal 0.05): %s' % ('met' if ate_kf <= 0.10 else 'MISSED'))
    print('  weak-tracking variant (4 m, 40 beams, 3-kf submaps): with loop closure %.4f m (%d loops), '
          'without %.4f m -> %.1fx' % (short_ate[True][0], short_ate[True][1], short_ate[False][0],
                                       short_ate[False][0] / max(short_ate[True][0], 1e-9)))
    print('total %.1f s' % (time.time() - t0))


if __name__ == '__main__':
    main()
