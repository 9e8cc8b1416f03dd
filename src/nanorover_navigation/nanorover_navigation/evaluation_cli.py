"""``nanorover slam-eval LOG RELATIONS``: Kuemmerle et al. 2009 relation errors of the embedded
SLAM.

Runs the SLAM core over the laser scans of a CARMEN log (odometry from the log) and scores the
corrected laser poses against a relations file (``t1 t2 x y z roll pitch yaw``), printing mean +-
std of the absolute/squared translational and rotational errors. ``--poses CSV`` scores a given
trajectory (t,x,y,yaw) instead of running the SLAM. Python 3.6 compatible.
"""
import argparse
import sys
import time

import numpy as np

from nanorover_navigation.carmen import CarmenError, read_log
from nanorover_navigation.evaluation import (format_relations_error, read_relations,
                                             read_trajectory_csv, relations_error,
                                             write_trajectory_csv)
from nanorover_navigation.geometry import se2_compose
from nanorover_navigation.slam import Slam


def run_slam_on_log(lasers, max_range=30.0, loop_closure=True, extra=None):
    """Corrected laser poses (N, 3) for the laser records of a log."""
    if not lasers:
        raise CarmenError('the log holds no FLASER / ROBOTLASER1 records')
    offset = lasers[0].laser_offset
    cfg = {'laser_x': float(offset[0]), 'laser_y': float(offset[1]),
           'laser_yaw': float(offset[2]), 'max_range': max_range, 'loop_closure': loop_closure}
    cfg.update(extra or {})
    slam = Slam(cfg)
    poses = []
    for rec in lasers:
        base = slam.process(rec.timestamp, rec.ranges, rec.angle_min, rec.angle_increment,
                            0.0, rec.max_range, rec.robot_pose)
        poses.append(se2_compose(base, offset))
    return np.array(poses), slam


def build_parser():
    p = argparse.ArgumentParser(
        prog='nanorover slam-eval',
        description='Score SLAM with the relations metric of Kuemmerle et al. 2009 on a CARMEN '
                    'log (mean +- std of translational/rotational errors).')
    p.add_argument('log', help='CARMEN log (FLASER / ROBOTLASER1 / ODOM lines)')
    p.add_argument('relations', help='relations file: t1 t2 x y z roll pitch yaw per line')
    p.add_argument('--poses', help='score this t,x,y,yaw CSV instead of running the SLAM')
    p.add_argument('--write-poses', help='write the SLAM laser poses to this CSV')
    p.add_argument('--max-range', type=float, default=30.0,
                   help='laser readings beyond this are not used [m] (default 30)')
    p.add_argument('--no-loop-closure', action='store_true', help='scan matching only')
    p.add_argument('--max-dt', type=float, default=0.01,
                   help='timestamp tolerance when matching relations to scans [s]')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        rels = read_relations(args.relations)
        if not rels:
            raise ValueError('%s holds no relations' % args.relations)
        if args.poses:
            times, poses = read_trajectory_csv(args.poses)
        else:
            lasers, _ = read_log(args.log)
            t0 = time.time()
            poses, slam = run_slam_on_log(lasers, args.max_range, not args.no_loop_closure)
            dt = time.time() - t0
            times = np.array([r.timestamp for r in lasers])
            print('SLAM: %d scans in %.1f s (%.0f scans/s), %d keyframes, %d loop closures'
                  % (len(lasers), dt, len(lasers) / max(dt, 1e-9), len(slam.keyframes),
                     slam.stats['loops']))
            if args.write_poses:
                write_trajectory_csv(args.write_poses, times, poses)
        res = relations_error(times, poses, rels, args.max_dt)
    except (CarmenError, ValueError, IOError, OSError) as exc:
        sys.stderr.write('slam-eval: %s\n' % exc)
        return 2
    print(format_relations_error(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
