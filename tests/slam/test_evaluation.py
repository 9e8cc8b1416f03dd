"""Evaluation tools: ATE/RPE, the Kuemmerle relations metric, CARMEN logs, `slam-eval` CLI."""
import math

import numpy as np
import pytest

from nanorover_navigation import carmen
from nanorover_navigation.evaluation import (Relation, ate, read_relations, read_trajectory_csv,
                                             relations_error, rpe, write_trajectory_csv)
from nanorover_navigation.evaluation_cli import main as slam_eval
from nanorover_navigation.geometry import se2_between, se2_compose
from synthetic import cast, room_grid


def line_traj(n=50, step=0.1):
    return np.stack([np.arange(n) * step, np.zeros(n), np.zeros(n)], axis=1)


def test_ate_removes_rigid_motion_and_measures_known_error():
    gt = line_traj()
    gt[:, 1] = 0.3 * np.sin(gt[:, 0])        # not a straight line: rotation is observable
    th = 0.7
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    est = gt.copy()
    est[:, :2] = gt[:, :2].dot(rot.T) + [5.0, -2.0]
    assert ate(est, gt) < 1e-9
    assert ate(est, gt, align=False) > 1.0
    # alternating lateral error of 0.05 m on a straight line: alignment cannot remove it
    gt = line_traj()
    est = gt.copy()
    est[:, 1] = 0.05 * (-1) ** np.arange(len(gt))
    assert ate(est, gt) == pytest.approx(0.05, rel=2e-3)   # (a tiny rotation helps a bit)
    assert ate(est, gt, align=False) == pytest.approx(0.05, abs=1e-12)
    st = ate(est, gt, align=False, stats=True)
    assert st['max'] == pytest.approx(0.05) and st['n'] == len(gt)
    with pytest.raises(ValueError):
        ate(est[:3], gt)


def test_rpe_known_scale_error():
    gt = line_traj(step=0.1)
    est = line_traj(step=0.11)               # 10 % odometry scale error
    r = rpe(est, gt, delta=1)
    assert r['trans_rmse'] == pytest.approx(0.01, abs=1e-9)
    assert r['rot_rmse'] == pytest.approx(0.0, abs=1e-12)
    assert rpe(est, gt, delta=5)['trans_rmse'] == pytest.approx(0.05, abs=1e-9)


def test_relations_metric_known_answers(tmp_path):
    times = np.arange(20) * 0.5
    poses = line_traj(20, 0.2)
    rels = []
    for k in range(10):                                      # exact relations
        rels.append(Relation(times[k], times[k + 5], se2_between(poses[k], poses[k + 5])))
    for k in range(10):                                      # relations off by 0.1 m in x
        d = se2_compose(se2_between(poses[k], poses[k + 5]), (0.1, 0.0, 0.0))
        rels.append(Relation(times[k], times[k + 5], d))
    res = relations_error(times, poses, rels)
    assert res['n'] == 20 and res['missing'] == 0
    errs = np.array([0.0] * 10 + [0.1] * 10)
    assert res['trans'][0] == pytest.approx(0.05)
    assert res['trans'][1] == pytest.approx(errs.std(ddof=1))
    assert res['trans2'][0] == pytest.approx(0.005)
    assert res['rot'][0] == pytest.approx(0.0, abs=1e-9)
    # a pure rotation error of 2 deg on a 1 m relation along x: |t| = 2 sin(1 deg)
    d = se2_compose(se2_between(poses[0], poses[5]), (0.0, 0.0, math.radians(2.0)))
    res = relations_error(times, poses, [Relation(times[0], times[5], d),
                                         Relation(99.0, 100.0, d)])
    assert res['rot'][0] == pytest.approx(2.0)
    assert res['trans'][0] == pytest.approx(2 * 1.0 * math.sin(math.radians(1.0)))
    assert res['missing'] == 1
    # relations file format round trip
    f = tmp_path / 'rel.txt'
    f.write_text('# t1 t2 x y z roll pitch yaw\n0.0 2.5 1.0 0.0 0 0 0 0.0349\n')
    r = read_relations(str(f))
    assert r[0].t2 == 2.5 and np.allclose(r[0].delta, [1.0, 0.0, 0.0349])
    f.write_text('0.0 2.5 1.0\n')
    with pytest.raises(ValueError, match='rel.txt:1'):
        read_relations(str(f))


def test_carmen_parser_all_record_types(tmp_path):
    ranges = [1.0 + 0.01 * k for k in range(180)]
    fl = carmen.format_flaser(ranges, se2_compose((1.0, 2.0, 0.1), (0.05, 0.0, 0.0)),
                              (1.0, 2.0, 0.1), 12.5)
    rl = ('ROBOTLASER1 0 -1.5708 3.1416 0.0175 30.0 0.01 0 3 1.0 2.0 3.0 2 0.5 0.6 '
          '0.1 0.2 0.3 0.0 0.1 0.3 0.2 0.05 0.5 0.5 0.0 13.25 host 13.26')
    text = '\n'.join(['# comment', 'PARAM robot_frontlaser_offset 0.05', fl,
                      'ODOM 1.0 2.0 0.1 0.2 0.0 0.0 12.4 host 12.41', rl, 'SYNC x', ''])
    log = tmp_path / 'x.log'
    log.write_text(text)
    lasers, odoms = carmen.read_log(str(log))
    assert len(lasers) == 2 and len(odoms) == 1
    a = lasers[0]
    assert a.kind == 'FLASER' and a.timestamp == 12.5 and len(a.ranges) == 180
    assert a.angle_min == pytest.approx(-math.pi / 2)
    assert a.angle_increment == pytest.approx(math.radians(1.0))
    assert np.allclose(a.laser_offset, [0.05, 0.0, 0.0], atol=1e-6)
    assert carmen.flaser_increment(181) == pytest.approx(math.radians(1.0))
    b = lasers[1]
    assert b.kind == 'ROBOTLASER1' and b.timestamp == 13.25
    assert np.allclose(b.ranges, [1.0, 2.0, 3.0]) and b.max_range == 30.0
    assert np.allclose(b.laser_pose, [0.1, 0.2, 0.3]) and np.allclose(b.robot_pose, [0.0, 0.1, 0.3])
    assert odoms[0].timestamp == 12.4 and np.allclose(odoms[0].pose, [1.0, 2.0, 0.1])
    log.write_text(fl + '\nFLASER 180 1.0 2.0\n')
    with pytest.raises(carmen.CarmenError, match='x.log:2'):
        carmen.read_log(str(log))


def write_synthetic_log(tmp_path, n=120):
    """A robot driving an arc in the test room: FLASER scans (180 x 1 deg) with drifting
    odometry, relations between scans 10 apart from the ground truth."""
    occ, info = room_grid()
    rng = np.random.RandomState(5)
    truth = np.array([1.5, 1.5, 0.3])
    odom = truth.copy()
    lines, gts, times = [], [], []
    for k in range(n):
        r, _, _ = cast(occ, info, truth, beams=360, laser_x=0.0, noise=0.005, rng=rng)
        fl = np.minimum(r[90:270], 81.9)                      # -90 .. +89 deg
        t = 100.0 + 0.2 * k
        lines.append(carmen.format_flaser(fl, odom, odom, t))
        gts.append(truth.copy())
        times.append(t)
        step = np.array([0.06, 0.0, 0.035 if k < 60 else -0.02])
        truth = se2_compose(truth, step)
        odom = se2_compose(odom, step * [1.05, 1.0, 1.15] + rng.randn(3) * [0.002, 0.002, 0.003])
    log = tmp_path / 'room.log'
    log.write_text('\n'.join(lines) + '\n')
    rel = tmp_path / 'room.relations'
    with open(str(rel), 'w') as f:
        for k in range(0, n - 10, 3):
            d = se2_between(gts[k], gts[k + 10])
            f.write('%.6f %.6f %.6f %.6f 0 0 0 %.6f\n'
                    % (times[k], times[k + 10], d[0], d[1], d[2]))
    return log, rel, np.array(times), np.array(gts)


def test_slam_eval_cli_on_a_synthetic_log(tmp_path, capsys):
    log, rel, times, gts = write_synthetic_log(tmp_path)
    out_csv = tmp_path / 'poses.csv'
    assert slam_eval([str(log), str(rel), '--write-poses', str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert 'abs translational error [m]' in text
    t, poses = read_trajectory_csv(str(out_csv))
    rels = [Relation(a, b, d) for a, b, d in
            [(float(l.split()[0]), float(l.split()[1]),
              [float(l.split()[2]), float(l.split()[3]), float(l.split()[7])])
             for l in rel.read_text().splitlines()]]
    slam_res = relations_error(t, poses, rels)
    # the same metric on the drifting odometry (known to be worse)
    odom_csv = tmp_path / 'odom.csv'
    lasers, _ = carmen.read_log(str(log))
    write_trajectory_csv(str(odom_csv), [l.timestamp for l in lasers],
                         [l.robot_pose for l in lasers])
    assert slam_eval([str(log), str(rel), '--poses', str(odom_csv)]) == 0
    odom_res = relations_error(*read_trajectory_csv(str(odom_csv)), relations=rels)
    assert slam_res['trans'][0] < 0.02
    assert slam_res['rot'][0] < 0.5
    assert odom_res['trans'][0] > 2 * slam_res['trans'][0]
    # the printed numbers are these numbers
    assert ('%.4f +- %.4f' % slam_res['trans']) in text
    # bad input: clear error, exit code 2
    assert slam_eval([str(log), str(tmp_path / 'missing.txt')]) == 2
    assert 'missing.txt' in capsys.readouterr().err
