"""Correlative scan matcher: recovers known offsets; branch and bound equals brute force."""
import math

import numpy as np
import pytest

from nanorover_navigation.geometry import transform_points, wrap_angle
from nanorover_navigation.scan_matcher import (LikelihoodField, ScanMatcher, brute_force_search,
                                               correlative_search, scan_to_points, subsample)
from synthetic import cast, room_grid

TRUE = np.array([3.0, 2.8, 0.3])


@pytest.fixture(scope='module')
def scene():
    occ, info = room_grid()
    rng = np.random.RandomState(3)
    ranges, amin, inc = cast(occ, info, TRUE, beams=720, noise=0.005, rng=rng)
    pts = scan_to_points(ranges, amin, inc, 0.1, 12.0, (0.03, 0.0, 0.0))
    # reference: the same room seen from two other poses, in world coordinates
    ref = []
    for p in ([2.6, 2.7, 0.0], [3.6, 3.1, 1.0]):
        r, a, i = cast(occ, info, p, beams=720, rng=rng, noise=0.005)
        ref.append(transform_points(p, scan_to_points(r, a, i, 0.1, 12.0, (0.03, 0.0, 0.0))))
    return pts, LikelihoodField(np.vstack(ref), 0.05)


@pytest.mark.parametrize('offset', [(0.15, -0.1, 0.08), (-0.18, 0.05, -0.12), (0.0, 0.0, 0.0)])
def test_matcher_recovers_known_offset(scene, offset):
    pts, field = scene
    guess = TRUE + np.array(offset)
    res = ScanMatcher(window_xy=0.25, window_theta=0.2).match(field, subsample(pts, 180), guess)
    assert res.score > 0.7
    assert np.hypot(*(res.pose[:2] - TRUE[:2])) < 0.02
    assert abs(wrap_angle(res.pose[2] - TRUE[2])) < math.radians(0.5)


def test_wide_window_finds_large_offset(scene):
    pts, field = scene
    guess = TRUE + np.array([0.7, -0.6, 0.3])
    res = ScanMatcher().match(field, subsample(pts, 180), guess, window_xy=1.0, window_theta=0.4)
    assert np.hypot(*(res.pose[:2] - TRUE[:2])) < 0.03


def test_branch_and_bound_equals_brute_force(scene):
    pts, field = scene
    sub = subsample(pts, 120)
    guess = TRUE + np.array([0.12, 0.09, -0.05])
    fast = correlative_search(field, sub, guess, 0.3, 0.1, math.radians(1.0),
                              max_candidates=10 ** 6)
    slow = brute_force_search(field, sub, guess, 0.3, 0.1, math.radians(1.0))
    assert fast.score == pytest.approx(slow.score, abs=1e-6)
    assert fast.fine_evaluated < slow.fine_evaluated / 3   # the bound prunes most candidates


def test_empty_and_invalid_scans_give_no_points():
    assert scan_to_points([float('inf')] * 100, -math.pi, 0.06, 0.1, 12.0).shape == (0, 2)
    assert scan_to_points([0.0] * 100, -math.pi, 0.06, 0.1, 12.0).shape == (0, 2)
    assert scan_to_points([], -math.pi, 0.06, 0.1, 12.0).shape == (0, 2)
    r = scan_to_points([float('nan'), 1.0, 50.0], 0.0, 0.5, 0.1, 12.0)
    assert r.shape == (1, 2) and np.allclose(r[0], [math.cos(0.5), math.sin(0.5)])
    with pytest.raises(ValueError):
        LikelihoodField(np.zeros((0, 2)))


def test_deskew_puts_points_of_a_turning_robot_back_on_the_walls():
    """A robot turning at 2 rad/s while the scan is taken (0.1 s, beam by beam): with the beams'
    relative poses the points land on the walls, without them they are smeared."""
    from scipy.ndimage import distance_transform_edt
    occ, info = room_grid(pillars=False)
    beams, dt_beam = 360, 0.1 / 360
    start = np.array([3.0, 2.5, 0.2])
    motion = np.array([[0.0, 0.0, 2.0 * dt_beam * k] for k in range(beams)])  # turn in place
    ranges = np.empty(beams)
    amin, inc = -math.pi, 2 * math.pi / beams
    for k in range(beams):
        pose = start + motion[k]
        r, _, _ = cast(occ, info, pose, beams=beams)      # all beams at this pose ...
        ranges[k] = r[k]                                  # ... keep beam k
    dist = distance_transform_edt(~occ) * info.resolution

    def wall_distance(pts):
        w = transform_points(start, pts)
        c = ((w[:, 0] - info.origin[0]) / info.resolution).astype(int)
        r = ((w[:, 1] - info.origin[1]) / info.resolution).astype(int)
        return dist[r, c]

    skewed = scan_to_points(ranges, amin, inc, 0.1, 12.0, (0.03, 0.0, 0.0))
    fixed = scan_to_points(ranges, amin, inc, 0.1, 12.0, (0.03, 0.0, 0.0), beam_motion=motion)
    assert np.percentile(wall_distance(fixed), 95) <= 0.05
    assert np.percentile(wall_distance(skewed), 95) > 0.3
    with pytest.raises(ValueError):
        scan_to_points(ranges, amin, inc, 0.1, 12.0, beam_motion=motion[:10])
