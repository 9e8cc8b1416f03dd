"""Benchmark of the embedded simulator (nanorover_sim), on ONE core, figures as ratios.

* sim steps/s (diff-drive + collision check), against the 100 Hz real-time step rate;
* lidar rays/s: the vectorised ray caster against a naive per-ray Python loop (same rays, same run),
  and against the G4's 9000 samples/s;
* camera FPS at 320x240 and 640x480 against the 15 FPS target.
Rates are per CPU second of this single-threaded process pinned to one core (see timed()).

Run: python tests/benchmarks/bench_sim.py  (make bench runs it; ~30 s)
"""
import os

for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_v] = '1'

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)
try:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
except (AttributeError, OSError):
    pass

from nanorover_sim.camera import CameraModel, Renderer  # noqa: E402
from nanorover_sim.diffdrive import load_robot_config  # noqa: E402
from nanorover_sim.engine import SimEngine  # noqa: E402
from nanorover_sim.raycast import cast_rays, cast_rays_naive  # noqa: E402
from nanorover_sim.world import load_world  # noqa: E402

TARGET_FPS = 15.0
STEP_RATE = 100.0
G4_SAMPLES = 9000.0


def timed(fn, min_time=1.5, min_reps=3):
    """Calls per CPU second of fn() (after one warm-up call).

    CPU time of this single-threaded process, pinned to one core: the figure is what one core
    delivers, whatever else the (shared) machine is doing; wall-clock rates are kept in WALL."""
    fn()
    n = 0
    c0 = time.process_time()
    w0 = time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.process_time() - c0
        if dt >= min_time and n >= min_reps:
            WALL.append(n / (time.perf_counter() - w0))
            return n / dt


WALL = []


def main():
    cfg = load_robot_config()
    rng = np.random.default_rng(0)
    print('nanorover_sim benchmark (one core, rates per CPU second)')

    # --- sim steps -------------------------------------------------------------------------
    eng = SimEngine('office', cfg, seed=0, rate=STEP_RATE)
    k = [0]

    def steps():
        k[0] += 1
        eng.set_cmd(0.3, 0.8 * math.sin(k[0] * 0.01))
        eng.step(100)
    sps = timed(steps) * 100
    print('sim steps/s            %10.0f   = %6.1fx the %.0f Hz real-time step rate'
          % (sps, sps / STEP_RATE, STEP_RATE))

    # --- lidar ------------------------------------------------------------------------------
    world = load_world('office')
    poses = [world.random_free_pose(rng) for _ in range(8)]
    n_rays = 900  # one G4 revolution at 9 kHz / 10 Hz
    angles = np.linspace(-math.pi, math.pi, n_rays, endpoint=False)
    it = [0]

    def vec():
        p = poses[it[0] % len(poses)]
        it[0] += 1
        cast_rays(world, None, p[0], p[1], angles + p[2], 16.0)
    vec_rate = timed(vec) * n_rays
    it[0] = 0

    def naive():
        p = poses[it[0] % len(poses)]
        it[0] += 1
        cast_rays_naive(world.occupied, world.info, p[0], p[1], angles + p[2], 16.0,
                        step=world.info.resolution / 2)
    naive_rate = timed(naive, min_time=2.0, min_reps=2) * n_rays
    print('lidar rays/s vectorised %9.0f   = %6.1fx the naive per-ray loop (%.0f rays/s)'
          % (vec_rate, vec_rate / naive_rate, naive_rate))
    print('                                    = %6.1fx the G4 sample rate (%.0f/s)'
          % (vec_rate / G4_SAMPLES, G4_SAMPLES))
    lid = eng.lidar
    it[0] = 0

    def noisy():
        lid.ranges(poses[it[0] % len(poses)], angles)
        it[0] += 1
    full = timed(noisy) * n_rays
    print('lidar rays/s incl noise %9.0f   = %6.1fx the G4 sample rate'
          % (full, full / G4_SAMPLES))

    # --- camera ------------------------------------------------------------------------------
    for width, height in ((320, 240), (640, 480)):
        cam = CameraModel.from_robot_config(cfg, width, height)
        ren = Renderer(world, cam, seed=0)
        it[0] = 0

        def frame():
            ren.render(poses[it[0] % len(poses)])
            it[0] += 1
        fps = timed(frame, min_time=3.0)
        print('camera FPS %dx%d   %10.1f   = %6.2fx the %.0f FPS target (wall clock: %.1f FPS)'
              % (width, height, fps, fps / TARGET_FPS, TARGET_FPS, WALL[-1]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
