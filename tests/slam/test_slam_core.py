"""SLAM core (ROS-free): the office loop with seeded odometry drift, and awkward inputs."""
import math

import numpy as np
import pytest

from nanorover_navigation.evaluation import ate
from nanorover_navigation.geometry import se2_compose, wrap_angle
from nanorover_navigation.slam import Slam
from synthetic import cast, room_grid

INF = float('inf')


@pytest.fixture(scope='module')
def office_run():
    pytest.importorskip('nanorover_sim.raycast')
    import slam_harness as h
    samples = h.record('office')
    slam, est, truth, odom = h.run_slam(samples)
    return h, samples, slam, est, truth, odom


def test_office_loop_closes_with_small_ate(office_run):
    h, samples, slam, est, truth, odom = office_run
    kf_est, kf_truth, kf_odom = h.keyframe_trajectory(slam, samples)
    ate_kf = ate(kf_est, kf_truth)
    ate_online = ate(est, truth)
    ate_odom = ate(odom, truth)
    print('office loop ATE: keyframes %.3f m, online %.3f m, odometry only %.3f m, loops %d'
          % (ate_kf, ate_online, ate_odom, slam.stats['loops']))
    assert slam.stats['loops'] >= 1
    assert ate_kf <= 0.05
    assert ate_online <= 0.10
    assert ate_odom > 4 * ate_kf
    # the path really is a loop: the end passes the start again
    assert np.hypot(*(truth[-1, :2] - truth[0, :2])) < 4.5


def test_office_map_walls_are_where_the_world_walls_are(office_run):
    h, samples, slam, est, truth, odom = office_run
    from nanorover_sim.world import load_world
    world = load_world('office')
    grid, info = slam.occupancy()
    rows, cols = np.nonzero(grid == 100)
    assert len(rows) > 500
    pts = np.stack([info.origin[0] + (cols + 0.5) * info.resolution,
                    info.origin[1] + (rows + 0.5) * info.resolution], axis=1)
    start = truth[0]                      # map frame = odom frame = robot start pose
    wpts = np.stack([start[0] + math.cos(start[2]) * pts[:, 0] - math.sin(start[2]) * pts[:, 1],
                     start[1] + math.sin(start[2]) * pts[:, 0] + math.cos(start[2]) * pts[:, 1]],
                    axis=1)
    r, c = world.world_to_cell(wpts[:, 0], wpts[:, 1])
    ok = (r >= 0) & (r < world.shape[0]) & (c >= 0) & (c < world.shape[1])
    near_wall = np.zeros(len(wpts), dtype=bool)
    near_wall[ok] = world.clearance[r[ok], c[ok]] <= 0.1
    assert near_wall.mean() > 0.9
    # free cells of the map lie in free space of the world
    rows, cols = np.nonzero(grid == 0)
    fx = start[0] + info.origin[0] + (cols + 0.5) * info.resolution
    fy = start[1] + info.origin[1] + (rows + 0.5) * info.resolution
    r, c = world.world_to_cell(fx, fy)
    ok = (r >= 0) & (r < world.shape[0]) & (c >= 0) & (c < world.shape[1])
    assert (~world.occupied[r[ok], c[ok]]).mean() > 0.97


def _scan(occ, info, pose, beams=360):
    return cast(occ, info, pose, beams=beams)


def test_awkward_inputs_do_not_break_tracking():
    occ, info = room_grid()
    slam = Slam({'loop_closure': False})
    truth = np.array([2.0, 3.0, 0.0])
    empty = np.full(360, INF)
    # first scan empty: the pose comes from odometry, no keyframe yet
    p = slam.process(0.0, empty, -math.pi, 2 * math.pi / 360, 0.1, 12.0, truth)
    assert np.allclose(p, truth) and not slam.keyframes
    slam.process(0.1, np.zeros(360), -math.pi, 2 * math.pi / 360, 0.1, 12.0, truth)
    slam.process(0.2, np.full(360, np.nan), -math.pi, 2 * math.pi / 360, 0.1, 12.0, truth)
    slam.process(0.25, [], -math.pi, 0.0175, 0.1, 12.0, truth)
    r, a, i = _scan(occ, info, truth)
    slam.process(0.3, r, a, i, 0.1, 12.0, truth)
    assert len(slam.keyframes) == 1
    odom = truth.copy()
    t = 0.3
    for k in range(1, 61):                                    # an arc inside the room
        step = np.array([0.05, 0.0, 0.025])
        truth = se2_compose(truth, step)
        odom = se2_compose(odom, step * [1.1, 1.0, 0.7])      # odometry scale/heading errors
        t += 0.1
        if k % 7 == 0:
            continue                                          # dropped scans (rate change)
        beams = 360 if k < 20 else 720                        # beam count change
        r, a, i = _scan(occ, info, truth, beams)
        if k == 25:
            r = np.full(beams, INF)                           # an empty scan mid-run
        if k == 30:
            odom = se2_compose(odom, (0.4, -0.3, 0.2))        # odometry jump (gap / glitch)
        p = slam.process(t, r, a, i, 0.1, 12.0, odom if k != 40 else (np.nan, 0.0, 0.0))
        if k > 31:
            assert np.hypot(*(p[:2] - truth[:2])) < 0.06, k
            assert abs(wrap_angle(p[2] - truth[2])) < 0.03, k
    assert slam.stats['keyframes'] > 5 and slam.stats['bad_odom'] == 1
    grid, _ = slam.occupancy()
    assert (grid == 100).sum() > 100


def test_map_to_odom_is_the_correction():
    occ, info = room_grid()
    slam = Slam()
    truth = np.array([2.0, 3.0, 0.5])
    odom = np.array([10.0, -4.0, 2.0])          # odom frame differs from map: anything goes
    for k in range(30):
        r, a, i = _scan(occ, info, truth)
        p = slam.process(0.1 * k, r, a, i, 0.1, 12.0, odom)
        truth = se2_compose(truth, (0.04, 0.0, 0.03))
        odom = se2_compose(odom, (0.045, 0.0, 0.025))
    # map_to_odom (+) odom == pose
    assert np.allclose(se2_compose(slam.map_to_odom, slam.odom), p, atol=1e-9)
    with pytest.raises(ValueError):
        Slam({'no_such_setting': 1})


WEAK_TRACKING = {'max_range': 4.0, 'match_beams': 40, 'submap_keyframes': 3}


def test_loop_closure_corrects_drift_of_weak_tracking(office_run):
    """With weak scan-to-submap tracking (4 m range, 40 beams, 3-keyframe submaps) the trajectory
    drifts; the loop closures must pull it together: ATE with loop closure clearly below ATE
    without."""
    h, samples = office_run[0], office_run[1]
    res = {}
    for lc in (True, False):
        slam, est, truth, odom = h.run_slam(samples, dict(WEAK_TRACKING, loop_closure=lc))
        kf_est, kf_truth, _ = h.keyframe_trajectory(slam, samples)
        res[lc] = (ate(kf_est, kf_truth), slam.stats['loops'])
    print('weak tracking: ATE with loop closure %.3f m (%d loops), without %.3f m'
          % (res[True][0], res[True][1], res[False][0]))
    assert res[True][1] >= 2
    assert res[True][0] < 0.8 * res[False][0]
    assert res[True][0] <= 0.10
