"""The run-folder writer on synthetic data: every file exists and is valid; figures are right."""
import csv
import json
import math

import numpy as np
import pytest

from nanorover_bringup import run_folder
from nanorover_bringup.run_folder import RunData, absolute_trajectory_error, write_run_folder
from nanorover_common.map_io import MapInfo, read_map


def _circle(n=200, radius=2.0, t0=0.0, dt=0.1):
    t = t0 + dt * np.arange(n)
    a = t / (n * dt) * 2 * math.pi
    return t, radius * np.cos(a), radius * np.sin(a), a + math.pi / 2


def _synthetic_run(with_slam=True):
    data = RunData()
    t, x, y, yaw = _circle()
    # ground truth in the world frame: the robot started at (3, 1) facing 90 deg
    start = np.array([3.0, 1.0, math.pi / 2])
    from nanorover_navigation.geometry import se2_compose
    local = np.stack([x - 2.0, y, yaw - math.pi / 2], axis=1)  # starts at the origin
    world = se2_compose(start, local)
    rng = np.random.RandomState(0)
    for i in range(len(t)):
        data.add_pose('ground_truth', t[i], *world[i])
        # odometry drifts (grows with time), slam stays close to the truth
        data.add_pose('odometry', t[i], local[i, 0] + 0.002 * i, local[i, 1] - 0.001 * i,
                      local[i, 2])
        if with_slam and i % 4 == 0:
            data.add_pose('estimate', t[i] + 0.01, local[i, 0] + rng.normal(0, 0.01),
                          local[i, 1] + rng.normal(0, 0.01), local[i, 2])
    grid = np.full((60, 80), -1, np.int8)
    grid[10:50, 10:70] = 0
    grid[10, 10:70] = 100
    data.set_map(grid, MapInfo(0.05, (-2.5, -1.5, 0.0)), 19.9)
    data.camera_k = [277.0, 0.0, 160.0, 0.0, 277.0, 120.0, 0.0, 0.0, 1.0]
    data.add_detections(5.0, 'camera_optical_frame', 320, 240, [
        {'class_id': 1, 'class_name': 'chair', 'score': 0.8, 'x_min': 150.0, 'y_min': 100.0,
         'x_max': 170.0, 'y_max': 180.0},
        {'class_id': 0, 'class_name': 'person', 'score': 0.6, 'x_min': 10.0, 'y_min': 0.0,
         'x_max': 40.0, 'y_max': 240.0}])  # touches the bottom edge: no floor position
    data.add_detections(6.0, 'camera_optical_frame', 320, 240, [])
    data.collisions = 2
    data.sim_time = 19.9
    data.scans = 199
    return data


def test_run_folder_files_are_valid(tmp_path):
    data = _synthetic_run()
    meta = {'world': 'office', 'seed': 3, 'duration': 20.0, 'nodes_run': ['sim_node'],
            'nodes_missing': {'detector_node': 'not installed'}, 'exit_code': 0}
    s = write_run_folder(str(tmp_path), data, meta, camera_pose={'x': 0.1, 'z': 0.11})
    for name in ('map.pgm', 'map.yaml', 'trajectory_estimate.csv', 'trajectory_odometry.csv',
                 'trajectory_ground_truth.csv', 'detections.jsonl', 'summary.json',
                 'overview.png'):
        assert (tmp_path / name).stat().st_size > 0, name
    grid, info = read_map(str(tmp_path / 'map.yaml'))
    np.testing.assert_array_equal(grid, data.map_grid)
    assert info.origin[:2] == (-2.5, -1.5)
    with open(str(tmp_path / 'trajectory_ground_truth.csv')) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['t', 'x', 'y', 'yaw'] and len(rows) == 200
    assert abs(float(rows[0]['x']) - 3.0) < 1e-6 and abs(float(rows[0]['y']) - 1.0) < 1e-6
    lines = (tmp_path / 'detections.jsonl').read_text().splitlines()
    chair, person = json.loads(lines[0])['detections']
    assert len(lines) == 1 and chair['class_name'] == 'chair' and 'position' not in person
    assert len(chair['position']) == 2
    assert json.loads((tmp_path / 'summary.json').read_text()) == s
    assert s['world'] == 'office' and s['seed'] == 3 and s['exit_code'] == 0
    assert s['scans_received'] == 199 and s['collisions'] == 2
    assert s['map_coverage_m2'] == pytest.approx(40 * 60 * 0.05 ** 2)
    assert s['detections_per_class'] == {'chair': 1, 'person': 1}
    assert s['detection_frames'] == 2 and s['detected_positions'] == 1
    # SLAM close to the truth, odometry drifted: the baseline must be clearly worse
    assert s['ate_slam_m'] < 0.03 < s['ate_odometry_m']
    assert s['overview_frame'] == 'map'
    png = (tmp_path / 'overview.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image as mpimg
    img = mpimg.imread(str(tmp_path / 'overview.png'))
    assert img.shape[0] > 400 and img.shape[1] > 400 and img[..., :3].std() > 0.05


def test_partial_run_still_writes_summary(tmp_path):
    """No map, no SLAM, no detections (a run that died early): files exist, figures are None."""
    data = RunData()
    data.add_pose('ground_truth', 0.0, 1.0, 1.0, 0.0)
    s = write_run_folder(str(tmp_path), data, {'world': 'room', 'exit_code': 1})
    assert s['ate_slam_m'] is None and s['ate_odometry_m'] is None
    assert s['map_coverage_m2'] == 0.0 and 'map' not in s['files']
    assert (tmp_path / 'overview.png').exists() and (tmp_path / 'summary.json').exists()
    assert (tmp_path / 'trajectory_estimate.csv').read_text() == 't,x,y,yaw\n'


def test_ate_is_invariant_to_a_rigid_offset_and_sees_noise():
    t, x, y, yaw = _circle()
    gt = np.stack([t, x, y, yaw], axis=1)
    c, s = math.cos(0.7), math.sin(0.7)
    moved = gt.copy()
    moved[:, 1], moved[:, 2] = c * x - s * y + 5.0, s * x + c * y - 2.0
    value, impl, n = absolute_trajectory_error(moved, gt)
    assert value == pytest.approx(0.0, abs=1e-9) and n == len(gt) and impl
    noisy = moved.copy()
    noisy[:, 1] += np.random.RandomState(1).normal(0, 0.1, len(t))
    assert 0.05 < absolute_trajectory_error(noisy, gt)[0] < 0.15


def test_detection_on_the_optical_axis_lands_in_front_of_the_robot():
    # fy=277, cy=120, camera 0.11 m high: box bottom at v=150 -> 0.11*277/30 = 1.016 m ahead
    traj = np.array([[0.0, 1.0, 2.0, math.pi / 2], [10.0, 1.0, 2.0, math.pi / 2]])
    msg = {'t': 5.0, 'image_width': 320, 'image_height': 240, 'detections': [
        {'class_name': 'box', 'score': 0.9, 'x_min': 150.0, 'x_max': 170.0, 'y_min': 90.0,
         'y_max': 150.0}]}
    k = [277.0, 0, 160.0, 0, 277.0, 120.0, 0, 0, 1]
    ((cls, px, py, score),) = run_folder.detection_positions([msg], k, {'x': 0.1, 'z': 0.11},
                                                            traj)
    assert cls == 'box' and px == pytest.approx(1.0, abs=1e-6)
    assert py == pytest.approx(2.0 + 0.1 + 0.11 * 277 / 30, abs=1e-6)
