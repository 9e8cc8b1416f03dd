"""2D pose graph and its sparse least-squares optimiser (Gauss-Newton / Levenberg on scipy.sparse).

Nodes are poses (x, y, yaw) in the map frame; an edge (i, j, z, info) says "pose j seen from pose i
is z" with a 3x3 information matrix. The error of an edge is
``e = [R_z^T (R_i^T (t_j - t_i) - t_z), wrap(th_j - th_i - th_z)]`` and the optimiser minimises
``sum rho(e^T info e)`` with node 0 (or the given ``fixed`` nodes) held fixed; ``rho`` is a Cauchy
kernel on edges flagged ``robust`` (loop closures), the identity otherwise.
ROS-free, Python 3.6 compatible.
"""
import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from nanorover_navigation.geometry import wrap_angle


class Edge(object):
    __slots__ = ('i', 'j', 'z', 'info', 'robust', 'kind')

    def __init__(self, i, j, z, info, robust=False, kind='odom'):
        self.i = int(i)
        self.j = int(j)
        self.z = np.asarray(z, dtype=float)
        self.info = np.asarray(info, dtype=float)
        self.robust = bool(robust)
        self.kind = kind


def information(sigma_xy, sigma_theta):
    """Diagonal information matrix from standard deviations."""
    return np.diag([1.0 / sigma_xy ** 2, 1.0 / sigma_xy ** 2, 1.0 / sigma_theta ** 2])


class PoseGraph(object):
    def __init__(self):
        self.poses = np.zeros((0, 3))
        self.edges = []

    def __len__(self):
        return len(self.poses)

    def add_node(self, pose):
        self.poses = np.vstack([self.poses, np.asarray(pose, dtype=float).reshape(1, 3)])
        return len(self.poses) - 1

    def add_edge(self, i, j, z, info, robust=False, kind='odom'):
        n = len(self.poses)
        if not (0 <= i < n and 0 <= j < n) or i == j:
            raise ValueError('edge (%d, %d) needs two distinct existing nodes (have %d)'
                             % (i, j, n))
        self.edges.append(Edge(i, j, z, info, robust, kind))
        return self.edges[-1]

    def remove_edge(self, edge):
        self.edges.remove(edge)

    # --- errors and Jacobians (vectorised over edges) ---------------------------------------
    def _arrays(self):
        ii = np.array([e.i for e in self.edges], dtype=np.int64)
        jj = np.array([e.j for e in self.edges], dtype=np.int64)
        zz = np.array([e.z for e in self.edges]).reshape(-1, 3)
        info = np.array([e.info for e in self.edges]).reshape(-1, 3, 3)
        robust = np.array([e.robust for e in self.edges], dtype=bool)
        return ii, jj, zz, info, robust

    @staticmethod
    def edge_errors(poses, ii, jj, zz):
        pi, pj = poses[ii], poses[jj]
        ci, si = np.cos(pi[:, 2]), np.sin(pi[:, 2])
        cz, sz = np.cos(zz[:, 2]), np.sin(zz[:, 2])
        dx = pj[:, 0] - pi[:, 0]
        dy = pj[:, 1] - pi[:, 1]
        # R_i^T (t_j - t_i) - t_z
        lx = ci * dx + si * dy - zz[:, 0]
        ly = -si * dx + ci * dy - zz[:, 1]
        e = np.empty((len(ii), 3))
        e[:, 0] = cz * lx + sz * ly
        e[:, 1] = -sz * lx + cz * ly
        e[:, 2] = wrap_angle(pj[:, 2] - pi[:, 2] - zz[:, 2])
        return e

    def errors(self, poses=None):
        if not self.edges:
            return np.zeros((0, 3))
        ii, jj, zz, _, _ = self._arrays()
        return self.edge_errors(self.poses if poses is None else poses, ii, jj, zz)

    def chi2(self, poses=None):
        """Per-edge e^T info e."""
        if not self.edges:
            return np.zeros(0)
        ii, jj, zz, info, _ = self._arrays()
        e = self.edge_errors(self.poses if poses is None else poses, ii, jj, zz)
        return np.einsum('ni,nij,nj->n', e, info, e)

    @staticmethod
    def _jacobians(poses, ii, jj, zz):
        pi, pj = poses[ii], poses[jj]
        ci, si = np.cos(pi[:, 2]), np.sin(pi[:, 2])
        cz, sz = np.cos(zz[:, 2]), np.sin(zz[:, 2])
        n = len(ii)
        # A = R_z^T R_i^T
        ca = cz * ci - sz * si   # cos(th_i + th_z)
        sa = cz * si + sz * ci   # sin(th_i + th_z)
        A = np.zeros((n, 2, 2))
        A[:, 0, 0] = ca
        A[:, 0, 1] = sa
        A[:, 1, 0] = -sa
        A[:, 1, 1] = ca
        dx = pj[:, 0] - pi[:, 0]
        dy = pj[:, 1] - pi[:, 1]
        Ji = np.zeros((n, 3, 3))
        Jj = np.zeros((n, 3, 3))
        Ji[:, :2, :2] = -A
        Jj[:, :2, :2] = A
        # d/dth_i of A (t_j - t_i) = dA/dth (dx, dy)
        Ji[:, 0, 2] = -sa * dx + ca * dy
        Ji[:, 1, 2] = -ca * dx - sa * dy
        Ji[:, 2, 2] = -1.0
        Jj[:, 2, 2] = 1.0
        return Ji, Jj

    def optimize(self, iterations=20, fixed=(0,), cauchy_c=1.0, tol=1e-6):
        """Optimise poses in place; returns the final total (robustified) cost."""
        n = len(self.poses)
        if n < 2 or not self.edges:
            return 0.0
        ii, jj, zz, info, robust = self._arrays()
        m = len(ii)
        fixed = sorted(set(int(f) for f in fixed if 0 <= f < n))
        poses = self.poses.copy()
        lam = 1e-4

        def cost_of(p):
            e = self.edge_errors(p, ii, jj, zz)
            c2 = np.einsum('ni,nij,nj->n', e, info, e)
            rc = np.where(robust, cauchy_c ** 2 * np.log1p(c2 / cauchy_c ** 2), c2)
            return float(rc.sum()), e, c2

        cost, e, c2 = cost_of(poses)
        # sparsity pattern: each edge's 3 rows touch 3 columns of node i and 3 of node j
        rows = np.repeat(np.arange(3 * m).reshape(m, 3), 6, axis=1)          # (m*3, 6)
        rows = rows.reshape(m, 3, 6)
        cols_i = 3 * ii[:, None] + np.arange(3)[None, :]
        cols_j = 3 * jj[:, None] + np.arange(3)[None, :]
        cols = np.concatenate([cols_i, cols_j], axis=1)[:, None, :].repeat(3, axis=1)
        keep = np.ones(3 * n, dtype=bool)
        for f in fixed:
            keep[3 * f:3 * f + 3] = False
        for _ in range(iterations):
            w = np.where(robust, 1.0 / (1.0 + c2 / cauchy_c ** 2), 1.0)   # IRLS weights
            Ji, Jj = self._jacobians(poses, ii, jj, zz)
            J = np.concatenate([Ji, Jj], axis=2)                             # (m, 3, 6)
            # whitening with the Cholesky factor of info: r = L^T e
            L = np.linalg.cholesky(info)                                     # info = L L^T
            Lt = np.transpose(L, (0, 2, 1)) * np.sqrt(w)[:, None, None]
            Jw = np.einsum('nab,nbc->nac', Lt, J)
            rw = np.einsum('nab,nb->na', Lt, e)
            Jsp = sp.csr_matrix((Jw.ravel(), (rows.ravel(), cols.ravel())), shape=(3 * m, 3 * n))
            Jsp = Jsp[:, np.nonzero(keep)[0]]
            H = (Jsp.T.dot(Jsp)).tocsc()
            g = Jsp.T.dot(rw.ravel())
            improved = False
            rel = 0.0
            for _ in range(8):
                Hd = H + lam * sp.diags(H.diagonal() + 1e-9)
                delta = spsolve(Hd.tocsc(), -g)
                upd = np.zeros(3 * n)
                upd[keep] = delta
                trial = poses + upd.reshape(n, 3)
                trial[:, 2] = wrap_angle(trial[:, 2])
                tcost, te, tc2 = cost_of(trial)
                if tcost <= cost:
                    improved = True
                    rel = (cost - tcost) / max(cost, 1e-12)
                    poses, cost, e, c2 = trial, tcost, te, tc2
                    lam = max(lam * 0.3, 1e-9)
                    break
                lam *= 10.0
            if not improved or rel < tol:
                break
        self.poses = poses
        return cost


def loop_closure_check(graph, edge, max_translation=0.25, max_rotation=0.15):
    """Consistency of an (optimised) edge: its residual translation/rotation stay small."""
    e = graph.edge_errors(graph.poses, np.array([edge.i]), np.array([edge.j]),
                          edge.z.reshape(1, 3))[0]
    return math.hypot(e[0], e[1]) <= max_translation and abs(e[2]) <= max_rotation
