"""Embedded graph SLAM core (ROS-free): scan-to-submap tracking, keyframes, loop closure, map.

Feed :meth:`Slam.process` one scan at a time with the odometry pose (odom frame) at the scan's
time. The map frame coincides with the odom frame at the first scan. Per scan:

1. predict the pose from the last corrected pose and the odometry increment;
2. match the scan (subsampled beams) against a likelihood field of the last keyframes (the local
   submap) with the multi-resolution correlative matcher, refine sub-cell;
3. when the robot travelled ``min_travel_distance`` or turned ``min_travel_heading`` since the last
   keyframe, add a keyframe node + a scan-match edge to the pose graph;
4. look for a loop closure: a keyframe close to the current estimate but far back along the
   trajectory; match against a submap around it with a wide window; accept on score, then on
   consistency after optimisation (the new edge's residual must stay small), else roll back;
5. the occupancy grid integrates keyframes as they come and is rebuilt from all keyframes at their
   optimised poses after a loop closure.
"""
import math

import numpy as np

from nanorover_navigation.geometry import (se2_between, se2_compose, se2_inverse,
                                           transform_points, wrap_angle)
from nanorover_navigation.occupancy import OccupancyGrid
from nanorover_navigation.pose_graph import PoseGraph, information, loop_closure_check
from nanorover_navigation.scan_matcher import (LikelihoodField, ScanMatcher, scan_to_points,
                                               subsample, voxel_filter)

DEFAULTS = {
    'resolution': 0.05,             # occupancy map cell [m]
    'match_resolution': 0.05,       # likelihood-field cell for matching [m]
    'max_range': 12.0,              # readings beyond this are not used [m]
    'min_range': 0.1,
    'laser_x': 0.03, 'laser_y': 0.0, 'laser_yaw': 0.0,   # laser pose in base_footprint
    'match_beams': 180,             # beams used for matching (evenly subsampled)
    'min_points': 20,               # fewer valid points: odometry only for this scan
    # +inf beams clear free space (up to max_range / 2); off by default: a G4 reports
    # dropouts the same way as "nothing in range"
    'clear_no_return': False,
    'search_window_xy': 0.2,        # tracking search half-window [m]
    'search_window_theta': 0.15,    # [rad]
    'min_match_score': 0.35,        # below: trust odometry for this scan
    'match_prior_weight': 0.02,     # pull towards the odometry prediction (fraction of the score)
    'min_travel_distance': 0.2,     # keyframe thresholds
    'min_travel_heading': 0.25,
    'submap_keyframes': 15,         # keyframes in the local (tracking) submap
    'loop_closure': True,
    'loop_search_distance': 3.0,    # candidates within this distance of the estimate [m]
    'loop_min_travel': 6.0,         # and this far back along the trajectory [m]
    'loop_window_xy': 1.0,          # loop search half-window [m]
    'loop_window_theta': 0.4,       # [rad]
    'loop_min_score': 0.6,
    'loop_agreement_xy': 0.1,       # two loop matches must agree on the correction [m]
    'loop_agreement_theta': 0.05,   # [rad]
    'loop_submap_keyframes': 5,     # keyframes each side of the candidate
    'loop_max_residual_xy': 0.2,    # consistency after optimisation
    'loop_max_residual_theta': 0.1,
    'loop_cooldown_keyframes': 2,   # keyframes between loop attempts after a closure
}


class Keyframe(object):
    __slots__ = ('index', 'stamp', 'points', 'free_points', 'travel')

    def __init__(self, index, stamp, points, free_points, travel):
        self.index = index
        self.stamp = stamp
        self.points = points            # hits, base frame (voxel-filtered)
        self.free_points = free_points  # no-return rays clipped at max range, base frame
        self.travel = travel            # trajectory length at this keyframe


class Slam(object):
    def __init__(self, config=None):
        cfg = dict(DEFAULTS)
        if config:
            unknown = set(config) - set(DEFAULTS)
            if unknown:
                raise ValueError('unknown SLAM settings: %s' % ', '.join(sorted(unknown)))
            cfg.update(config)
        self.cfg = cfg
        self.laser_pose = (cfg['laser_x'], cfg['laser_y'], cfg['laser_yaw'])
        self.matcher = ScanMatcher(cfg['search_window_xy'], cfg['search_window_theta'],
                                   prior_weight=cfg['match_prior_weight'])
        self.graph = PoseGraph()
        self.keyframes = []
        self.grid = OccupancyGrid(cfg['resolution'])
        self.pose = None          # corrected base pose in map
        self.odom = None          # odometry pose at self.pose
        self.map_to_odom = np.zeros(3)
        self.travel = 0.0
        self._field = None
        self._field_dirty = True
        self._grid_dirty = False
        self._last_loop_kf = -10 ** 9
        self._pending_loop = None
        self._version = 0
        self.stats = {'scans': 0, 'matched': 0, 'odom_only': 0, 'keyframes': 0, 'bad_odom': 0,
                      'loop_attempts': 0, 'loops': 0, 'loops_rejected': 0, 'last_score': 0.0}

    # --- input --------------------------------------------------------------------------------
    def points_from_scan(self, ranges, angle_min, angle_increment, range_min, range_max,
                         beam_motion=None):
        max_use = self.cfg['max_range']
        pts = scan_to_points(ranges, angle_min, angle_increment,
                             max(range_min, self.cfg['min_range']), range_max,
                             self.laser_pose, max_use, beam_motion)
        return pts

    def _free_rays(self, ranges, angle_min, angle_increment, range_max):
        """No-return beams (inf / beyond range): free space up to the usable range."""
        r = np.asarray(ranges, dtype=float).ravel()
        if r.size == 0 or not self.cfg['clear_no_return']:
            return np.zeros((0, 2))
        reach = min(range_max, self.cfg['max_range'])
        with np.errstate(invalid='ignore'):
            far = np.isposinf(r) | (np.isfinite(r) & (r > reach))
        if not np.any(far):
            return np.zeros((0, 2))
        idx = np.nonzero(far)[0][::2]
        ang = angle_min + angle_increment * idx + self.laser_pose[2]
        d = 0.5 * reach
        pts = np.stack([self.laser_pose[0] + d * np.cos(ang),
                        self.laser_pose[1] + d * np.sin(ang)], axis=1)
        return pts

    def process(self, stamp, ranges, angle_min, angle_increment, range_min, range_max, odom_pose,
                beam_motion=None):
        """One scan; returns the corrected base pose in the map frame (x, y, yaw).

        ``odom_pose``: odometry pose at ``stamp``; ``beam_motion`` (optional, n_beams x 3): base
        pose at each beam's time relative to the pose at ``stamp`` (scan de-skewing).
        """
        self.stats['scans'] += 1
        odom_pose = np.asarray(odom_pose, dtype=float).reshape(3)
        if not np.all(np.isfinite(odom_pose)):
            # corrupt odometry: assume no motion, the scan matcher does the rest
            self.stats['bad_odom'] += 1
            odom_pose = self.odom.copy() if self.odom is not None else np.zeros(3)
        pts = self.points_from_scan(ranges, angle_min, angle_increment, range_min, range_max,
                                    beam_motion)
        if self.pose is None:
            # map frame == odom frame at start
            self.pose = odom_pose.copy()
            self.odom = odom_pose.copy()
            self._update_map_to_odom()
            if len(pts) >= self.cfg['min_points']:
                self._add_keyframe(stamp, pts, ranges, angle_min, angle_increment, range_max,
                                   odom_pose)
            return self.pose.copy()
        delta = se2_between(self.odom, odom_pose)
        self.travel += math.hypot(delta[0], delta[1])
        predicted = se2_compose(self.pose, delta)
        if len(pts) < self.cfg['min_points'] or not self.keyframes:
            self.pose, self.odom = predicted, odom_pose.copy()
            self.stats['odom_only'] += 1
            self._update_map_to_odom()
            if len(pts) >= self.cfg['min_points']:
                self._add_keyframe(stamp, pts, ranges, angle_min, angle_increment, range_max,
                                   odom_pose)
            return self.pose.copy()
        field = self._local_field()
        match_pts = subsample(pts, self.cfg['match_beams'])
        # an odometry gap / jump widens the window
        jump = math.hypot(delta[0], delta[1])
        wxy = max(self.cfg['search_window_xy'], min(jump, 1.0))
        wth = max(self.cfg['search_window_theta'], min(abs(delta[2]), 0.6))
        result = self.matcher.match(field, match_pts, predicted, wxy, wth)
        self.stats['last_score'] = result.score
        if result.score >= self.cfg['min_match_score']:
            self.pose = result.pose
            self.stats['matched'] += 1
            matched = True
        else:
            self.pose = predicted
            self.stats['odom_only'] += 1
            matched = False
        self.odom = odom_pose.copy()
        self._update_map_to_odom()
        last = self.graph.poses[-1]
        moved = se2_between(last, self.pose)
        # a failed match makes a keyframe only after a longer way (featureless places), so that a
        # bad prediction does not pollute the submap
        scale = 1.0 if matched else 4.0
        if (math.hypot(moved[0], moved[1]) >= scale * self.cfg['min_travel_distance'] or
                abs(moved[2]) >= scale * self.cfg['min_travel_heading']):
            self._add_keyframe(stamp, pts, ranges, angle_min, angle_increment, range_max,
                               odom_pose, matched)
        return self.pose.copy()

    # --- keyframes, submaps -------------------------------------------------------------------
    def _add_keyframe(self, stamp, pts, ranges, angle_min, angle_increment, range_max, odom_pose,
                      matched=True):
        idx = self.graph.add_node(self.pose)
        kf = Keyframe(idx, stamp, voxel_filter(pts, 0.5 * self.cfg['match_resolution']),
                      self._free_rays(ranges, angle_min, angle_increment, range_max),
                      self.travel)
        self.keyframes.append(kf)
        self.stats['keyframes'] += 1
        if idx > 0:
            z = se2_between(self.graph.poses[idx - 1], self.pose)
            if matched:
                info = information(0.02, 0.01)
            else:
                info = information(0.1, 0.05)
            self.graph.add_edge(idx - 1, idx, z, info, kind='match' if matched else 'odom')
        self._integrate(kf, self.pose)
        self._field_dirty = True
        self._version += 1
        if self.cfg['loop_closure'] and idx > 0:
            self._try_loop_closure(kf)

    def _integrate(self, kf, pose):
        world = transform_points(pose, kf.points)
        sensor = transform_points(pose, np.array([self.laser_pose[:2]]))[0]
        free = transform_points(pose, kf.free_points) if len(kf.free_points) else None
        self.grid.integrate(sensor, world, free)

    def _submap_points(self, indices):
        chunks = [transform_points(self.graph.poses[i], self.keyframes[i].points) for i in indices]
        return np.vstack(chunks) if chunks else np.zeros((0, 2))

    def _local_field(self):
        if self._field_dirty or self._field is None:
            n = len(self.keyframes)
            first = max(0, n - self.cfg['submap_keyframes'])
            pts = voxel_filter(self._submap_points(range(first, n)),
                               0.5 * self.cfg['match_resolution'])
            self._field = LikelihoodField(pts, self.cfg['match_resolution'],
                                          margin=self.cfg['search_window_xy'] + 1.0)
            self._field_dirty = False
        return self._field

    # --- loop closure ---------------------------------------------------------------------------
    def _loop_candidates(self, kf):
        travel = np.array([k.travel for k in self.keyframes])
        old = np.nonzero(travel <= kf.travel - self.cfg['loop_min_travel'])[0]
        if len(old) == 0:
            return []
        d = np.hypot(*(self.graph.poses[old, :2] - self.graph.poses[kf.index, :2]).T)
        near = old[d <= self.cfg['loop_search_distance']]
        return list(near[np.argsort(d[d <= self.cfg['loop_search_distance']])])

    def _match_loop(self, kf):
        """Match keyframe ``kf`` against the submap around its best loop candidate.

        Returns (candidate index, matched pose) or None. A match needs the score threshold and
        an optimum strictly inside the search window (one on the border means the true optimum
        may lie outside: typical of look-alike corridors).
        """
        cands = self._loop_candidates(kf)
        if not cands:
            return None
        self.stats['loop_attempts'] += 1
        c = int(cands[0])
        k = self.cfg['loop_submap_keyframes']
        # the candidate's neighbourhood, excluding anything within loop_min_travel of now
        lo, hi = max(0, c - k), min(len(self.keyframes), c + k + 1)
        idx = [i for i in range(lo, hi)
               if self.keyframes[i].travel <= kf.travel - self.cfg['loop_min_travel']]
        wxy, wth = self.cfg['loop_window_xy'], self.cfg['loop_window_theta']
        field = LikelihoodField(self._submap_points(idx), self.cfg['match_resolution'],
                                margin=wxy + 1.0, coarse_factor=8)
        pts = subsample(kf.points, self.cfg['match_beams'])
        guess = self.graph.poses[kf.index]
        res = self.matcher.match(field, pts, guess, wxy, wth)
        if res.score < self.cfg['loop_min_score']:
            return None
        off = np.abs(res.pose - guess)
        off[2] = abs(wrap_angle(res.pose[2] - guess[2]))
        edge = 2.0 * self.cfg['match_resolution']
        if off[0] > wxy - edge or off[1] > wxy - edge or off[2] > 0.9 * wth:
            self.stats['loops_rejected'] += 1
            return None
        return c, res.pose

    def _try_loop_closure(self, kf):
        """Loop closure with verification: two matches (on two keyframes) must agree on the
        correction before their edges enter the graph, and the optimised graph must stay
        consistent (small residuals on the new and on all sequential edges), else roll back."""
        if kf.index - self._last_loop_kf <= self.cfg['loop_cooldown_keyframes']:
            return False
        found = self._match_loop(kf)
        if found is None:
            return False
        c, matched = found
        # the map correction this match implies: matched = correction (+) estimate
        correction = se2_compose(matched, se2_inverse(self.graph.poses[kf.index]))
        pending = self._pending_loop
        self._pending_loop = (kf.index, c, matched, correction)
        if pending is None or kf.index - pending[0] > 3:
            return False
        diff = se2_between(pending[3], correction)
        if math.hypot(diff[0], diff[1]) > self.cfg['loop_agreement_xy'] or \
                abs(diff[2]) > self.cfg['loop_agreement_theta']:
            self.stats['loops_rejected'] += 1
            return False
        before = self.graph.poses.copy()
        # plain least squares: a large (correct) correction must pull fully; a wrong pair of
        # edges is caught by the consistency check below and rolled back
        edges = []
        for j, cand, pose in ((pending[0], pending[1], pending[2]), (kf.index, c, matched)):
            z = se2_between(self.graph.poses[cand], pose)
            edges.append(self.graph.add_edge(cand, j, z, information(0.05, 0.02), kind='loop'))
        self.graph.optimize()
        ok = all(loop_closure_check(self.graph, e, self.cfg['loop_max_residual_xy'],
                                    self.cfg['loop_max_residual_theta']) for e in edges)
        if ok:
            # and the trajectory must stay consistent: no sequential edge badly violated
            for e in self.graph.edges:
                if e.kind != 'loop' and not loop_closure_check(self.graph, e, 0.1, 0.05):
                    ok = False
                    break
        if not ok:
            for e in edges:
                self.graph.remove_edge(e)
            self.graph.poses = before
            self.stats['loops_rejected'] += 1
            return False
        self._pending_loop = None
        self.stats['loops'] += 1
        self._last_loop_kf = kf.index
        # the current pose follows its keyframe
        self.pose = self.graph.poses[kf.index].copy()
        self._update_map_to_odom()
        self._field_dirty = True
        self._grid_dirty = True
        self._version += 1
        return True

    def rebase_odom(self, odom_pose):
        """Odometry restarts at ``odom_pose`` (it appeared late, or was reset): no motion is
        inferred between the last odometry pose and this one."""
        odom_pose = np.asarray(odom_pose, dtype=float).reshape(3)
        if self.pose is not None:
            self.odom = odom_pose.copy()
            self._update_map_to_odom()

    # --- outputs -------------------------------------------------------------------------------
    def _update_map_to_odom(self):
        self.map_to_odom = se2_compose(self.pose, se2_inverse(self.odom))

    def rebuild_map(self):
        """Re-integrate every keyframe at its optimised pose."""
        self.grid.clear()
        for kf in self.keyframes:
            self._integrate(kf, self.graph.poses[kf.index])
        self._grid_dirty = False

    def occupancy(self):
        """(int8 grid [rows, cols], MapInfo), rebuilt first when poses changed."""
        if self._grid_dirty:
            self.rebuild_map()
        return self.grid.to_grid(), self.grid.info()

    @property
    def map_version(self):
        """Changes whenever the map content changes (keyframe added, loop closed)."""
        return self._version

    def keyframe_poses(self):
        return self.graph.poses.copy()


