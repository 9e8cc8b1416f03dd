"""Pose graph optimiser: analytic Jacobians, closing a synthetic loop, robust loop edges."""
import math

import numpy as np
import pytest

from nanorover_navigation.geometry import se2_between, se2_compose
from nanorover_navigation.pose_graph import PoseGraph, information


def square_loop(n_side=10, step=0.3):
    poses = [np.zeros(3)]
    for k in range(4 * n_side):
        turn = math.pi / 2 if (k + 1) % n_side == 0 else 0.0
        poses.append(se2_compose(poses[-1], (step, 0.0, turn)))
    return np.array(poses)


def test_jacobians_match_finite_differences():
    rng = np.random.RandomState(0)
    poses = rng.randn(2, 3)
    z = rng.randn(1, 3)
    ii, jj = np.array([0]), np.array([1])
    Ji, Jj = PoseGraph._jacobians(poses, ii, jj, z)
    eps = 1e-6
    for node, J in ((0, Ji), (1, Jj)):
        for k in range(3):
            p = poses.copy()
            p[node, k] += eps
            m = poses.copy()
            m[node, k] -= eps
            num = (PoseGraph.edge_errors(p, ii, jj, z) -
                   PoseGraph.edge_errors(m, ii, jj, z)) / (2 * eps)
            assert np.allclose(num[0], J[0, :, k], atol=1e-6)


def test_loop_closure_removes_drift():
    truth = square_loop()
    n = len(truth)
    rng = np.random.RandomState(1)
    g = PoseGraph()
    est = [truth[0]]
    meas = []
    for k in range(1, n):
        z = se2_between(truth[k - 1], truth[k]) + np.array([0.0, 0.0, 0.02]) + \
            rng.randn(3) * [0.005, 0.005, 0.002]          # biased heading: the loop does not close
        meas.append(z)
        est.append(se2_compose(est[-1], z))
    for p in est:
        g.add_node(p)
    for k, z in enumerate(meas):
        g.add_edge(k, k + 1, z, information(0.01, 0.01))
    drift_before = np.hypot(*(g.poses[-1, :2] - truth[-1, :2]))
    assert drift_before > 0.3
    # last pose coincides with the first: loop closure edge (exact)
    g.add_edge(0, n - 1, se2_between(truth[0], truth[-1]), information(0.01, 0.005),
               kind='loop')
    g.optimize(iterations=30)
    err = np.hypot(*(g.poses[:, :2] - truth[:, :2]).T)
    assert err.max() < 0.1 * drift_before
    assert err.max() < 0.08
    assert np.allclose(g.poses[0], truth[0])           # gauge: node 0 fixed


def test_wrong_loop_edge_is_downweighted_by_robust_kernel():
    truth = square_loop(6)
    g = PoseGraph()
    for p in truth:
        g.add_node(p)
    for k in range(len(truth) - 1):
        g.add_edge(k, k + 1, se2_between(truth[k], truth[k + 1]), information(0.01, 0.01))
    bad = g.add_edge(3, 15, (2.0, -1.5, 1.0), information(0.05, 0.02), robust=True, kind='loop')
    g.optimize()
    assert np.abs(g.poses[:, :2] - truth[:, :2]).max() < 0.25
    assert g.chi2()[g.edges.index(bad)] > 100.0


def test_edge_validation():
    g = PoseGraph()
    g.add_node((0, 0, 0))
    with pytest.raises(ValueError):
        g.add_edge(0, 1, (1, 0, 0), np.eye(3))
    assert g.optimize() == 0.0
