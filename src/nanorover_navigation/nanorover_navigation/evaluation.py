"""SLAM accuracy metrics (ROS-free, numpy).

* :func:`relations_error` -- Kuemmerle et al. 2009 ("On measuring the accuracy of SLAM
  algorithms"): for each ground-truth relation (t1, t2, D) between two scans,
  E = (P1^-1 P2) * D^-1 (Cartographer's form); translational error |E.t| [m], rotational |angle(E)|;
  mean and sample std of absolute and squared errors.
* :func:`ate` -- absolute trajectory error (RMSE of position errors) after the best SE(2) alignment
  (Umeyama/Horn without scale) of the estimate onto the ground truth.
* :func:`rpe` -- relative pose error over a fixed index (or time) offset.
* CSV trajectories ``t,x,y,yaw`` (header optional) for the simulator's ground truth.
"""
import math

import numpy as np

from nanorover_navigation.geometry import se2_between, se2_compose, se2_inverse, wrap_angle


# --- alignment, ATE, RPE ----------------------------------------------------------------------
def align_se2(est, gt):
    """Rotation R (2x2) and translation t minimising sum |R est_i + t - gt_i|^2 (Umeyama without
    scale)."""
    a = np.asarray(est, dtype=float)[:, :2]
    b = np.asarray(gt, dtype=float)[:, :2]
    if len(a) != len(b) or len(a) == 0:
        raise ValueError('alignment needs two trajectories of the same non-zero length '
                         '(%d vs %d)' % (len(a), len(b)))
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    cov = (b - mb).T.dot(a - ma) / len(a)
    u, _, vt = np.linalg.svd(cov)
    s = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s[1, 1] = -1.0
    rot = u.dot(s).dot(vt)
    return rot, mb - rot.dot(ma)


def apply_alignment(traj, rot, trans):
    traj = np.asarray(traj, dtype=float).copy()
    traj[:, :2] = traj[:, :2].dot(rot.T) + trans
    if traj.shape[1] > 2:
        traj[:, 2] = wrap_angle(traj[:, 2] + math.atan2(rot[1, 0], rot[0, 0]))
    return traj


def ate(est, gt, align=True, stats=False):
    """Absolute trajectory error: RMSE [m] of positions (after SE(2) alignment when ``align``).

    With ``stats=True`` returns a dict {rmse, mean, std, max, n}.
    """
    est = np.asarray(est, dtype=float).reshape(len(est), -1)
    gt = np.asarray(gt, dtype=float).reshape(len(gt), -1)
    if align:
        rot, trans = align_se2(est, gt)
        est = apply_alignment(est, rot, trans)
    err = np.hypot(est[:, 0] - gt[:, 0], est[:, 1] - gt[:, 1])
    rmse = float(np.sqrt(np.mean(err ** 2)))
    if not stats:
        return rmse
    return {'rmse': rmse, 'mean': float(err.mean()), 'std': float(err.std()),
            'max': float(err.max()), 'n': int(len(err))}


def rpe(est, gt, delta=1):
    """Relative pose error over index offset ``delta``: dict with RMSE translation [m] and rotation
    [rad], and the per-pair errors."""
    est = np.asarray(est, dtype=float)
    gt = np.asarray(gt, dtype=float)
    if len(est) != len(gt):
        raise ValueError('rpe needs trajectories of the same length (%d vs %d)'
                         % (len(est), len(gt)))
    if len(est) <= delta:
        raise ValueError('rpe needs more than delta=%d poses' % delta)
    de = se2_between(est[:-delta], est[delta:])
    dg = se2_between(gt[:-delta], gt[delta:])
    e = se2_between(dg, de)
    trans = np.hypot(e[:, 0], e[:, 1])
    rot = np.abs(e[:, 2])
    return {'trans_rmse': float(np.sqrt(np.mean(trans ** 2))),
            'rot_rmse': float(np.sqrt(np.mean(rot ** 2))),
            'trans': trans, 'rot': rot}


def associate(times_a, times_b, max_dt=0.02):
    """Index pairs (i, j) with |times_a[i] - times_b[j]| <= max_dt (nearest neighbour)."""
    ta = np.asarray(times_a, dtype=float)
    tb = np.asarray(times_b, dtype=float)
    if len(tb) == 0 or len(ta) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    order = np.argsort(tb)
    tbs = tb[order]
    pos = np.clip(np.searchsorted(tbs, ta), 1, len(tbs) - 1) if len(tbs) > 1 else \
        np.zeros(len(ta), dtype=int)
    if len(tbs) > 1:
        left = pos - 1
        pick = np.where(np.abs(tbs[left] - ta) <= np.abs(tbs[pos] - ta), left, pos)
    else:
        pick = pos
    ok = np.abs(tbs[pick] - ta) <= max_dt
    return np.nonzero(ok)[0], order[pick[ok]]


# --- Kuemmerle relations ---------------------------------------------------------------------
class Relation(object):
    __slots__ = ('t1', 't2', 'delta')

    def __init__(self, t1, t2, delta):
        self.t1 = float(t1)
        self.t2 = float(t2)
        self.delta = np.asarray(delta, dtype=float)


def read_relations(path):
    """Relations file: ``t1 t2 x y z roll pitch yaw`` per line (# comments allowed)."""
    rels = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split()
            if len(parts) < 8:
                raise ValueError('%s:%d: expected "t1 t2 x y z roll pitch yaw", got %r'
                                 % (path, lineno, line))
            try:
                v = [float(p) for p in parts[:8]]
            except ValueError:
                raise ValueError('%s:%d: non-numeric field in %r' % (path, lineno, line))
            rels.append(Relation(v[0], v[1], (v[2], v[3], v[7])))
    return rels


def _stats(x):
    x = np.asarray(x, dtype=float)
    std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return float(x.mean()), std


def relations_error(times, poses, relations, max_dt=0.01):
    """Kuemmerle metric of a trajectory (times[N], poses[N, 3]) against relations.

    Returns a dict: n, missing, trans (mean, std) [m], trans2 (mean, std) [m^2],
    rot (mean, std) [deg], rot2 (mean, std) [deg^2], plus the per-relation arrays.
    """
    times = np.asarray(times, dtype=float)
    poses = np.asarray(poses, dtype=float)
    t1 = np.array([r.t1 for r in relations])
    t2 = np.array([r.t2 for r in relations])
    i1, j1 = associate(t1, times, max_dt)
    i2, j2 = associate(t2, times, max_dt)
    idx1 = dict(zip(i1.tolist(), j1.tolist()))
    idx2 = dict(zip(i2.tolist(), j2.tolist()))
    tr, rot = [], []
    missing = 0
    for k, r in enumerate(relations):
        if k not in idx1 or k not in idx2:
            missing += 1
            continue
        p1, p2 = poses[idx1[k]], poses[idx2[k]]
        e = se2_compose(se2_between(p1, p2), se2_inverse(r.delta))
        tr.append(math.hypot(e[0], e[1]))
        rot.append(abs(math.degrees(wrap_angle(e[2]))))
    if not tr:
        raise ValueError('no relation matched the trajectory timestamps (%d missing)' % missing)
    tr = np.array(tr)
    rot = np.array(rot)
    return {'n': len(tr), 'missing': missing, 'trans': _stats(tr), 'trans2': _stats(tr ** 2),
            'rot': _stats(rot), 'rot2': _stats(rot ** 2), 'trans_errors': tr,
            'rot_errors': rot}


def format_relations_error(res):
    return '\n'.join([
        'relations: %d used, %d missing' % (res['n'], res['missing']),
        'abs translational error [m]:     %.4f +- %.4f' % res['trans'],
        'squared translational [m^2]:     %.4f +- %.4f' % res['trans2'],
        'abs rotational error [deg]:      %.4f +- %.4f' % res['rot'],
        'squared rotational [deg^2]:      %.4f +- %.4f' % res['rot2'],
    ])


# --- CSV trajectories -------------------------------------------------------------------------
def read_trajectory_csv(path):
    """``t,x,y,yaw`` rows (a header line is skipped) -> (times[N], poses[N, 3])."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = [p.strip() for p in line.split(',')]
            try:
                vals = [float(p) for p in parts[:4]]
            except ValueError:
                if not rows:
                    continue  # header
                raise ValueError('%s:%d: non-numeric row %r' % (path, lineno, line))
            if len(vals) < 4:
                raise ValueError('%s:%d: expected t,x,y,yaw, got %r' % (path, lineno, line))
            rows.append(vals)
    if not rows:
        raise ValueError('%s: no trajectory rows' % path)
    a = np.array(rows)
    return a[:, 0], a[:, 1:4]


def write_trajectory_csv(path, times, poses):
    with open(path, 'w') as f:
        f.write('t,x,y,yaw\n')
        for t, p in zip(times, poses):
            f.write('%.6f,%.6f,%.6f,%.6f\n' % (t, p[0], p[1], p[2]))


def trajectory_errors(est_times, est, gt_times, gt, max_dt=0.05, delta=1):
    """ATE and RPE of an estimate against ground truth, associated by timestamp."""
    i, j = associate(est_times, gt_times, max_dt)
    if len(i) < 2:
        raise ValueError('fewer than two poses matched by timestamp (max_dt %.3f s)' % max_dt)
    e, g = np.asarray(est)[i], np.asarray(gt)[j]
    out = {'ate': ate(e, g, stats=True), 'matched': int(len(i))}
    if len(i) > delta:
        r = rpe(e, g, delta)
        out['rpe'] = {'trans_rmse': r['trans_rmse'], 'rot_rmse': r['rot_rmse']}
    return out
