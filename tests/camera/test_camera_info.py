"""camera_info: intrinsics convention, calibration YAML (good and malformed), message filling."""
import array
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from nanorover_perception.camera_info import (CameraInfoError, camera_info_msg,
                                              default_intrinsics, image_msg, image_to_bgr,
                                              load_camera_info_yaml)

REPO = Path(__file__).resolve().parents[2]
CAMERA_YAML = REPO / 'config' / 'camera.yaml'


def robot_camera():
    with open(str(REPO / 'config' / 'robot.yaml')) as f:
        return yaml.safe_load(f)['camera']


def test_default_intrinsics_projects_fov_edges_to_image_edges():
    w, h, hfov = 320, 240, math.radians(70.0)
    K = default_intrinsics(w, h, hfov)
    assert K.shape == (3, 3) and K[0, 0] == K[1, 1]
    # a ray at +-hfov/2 lands on the outer pixel edges -0.5 and w-0.5 (integer pixel centres)
    for sign, edge in ((1, w - 0.5), (-1, -0.5)):
        u = K[0, 0] * math.tan(sign * hfov / 2) + K[0, 2]
        assert u == pytest.approx(edge)
    assert (K[0, 2], K[1, 2]) == ((w - 1) / 2.0, (h - 1) / 2.0)
    with pytest.raises(ValueError):
        default_intrinsics(320, 240, math.pi)


def test_config_camera_yaml_matches_robot_yaml():
    cam = robot_camera()
    info = load_camera_info_yaml(CAMERA_YAML)
    assert (info['width'], info['height']) == (cam['width'], cam['height'])
    K = default_intrinsics(cam['width'], cam['height'], cam['horizontal_fov'])
    np.testing.assert_allclose(info['K'], K, atol=1e-5)
    np.testing.assert_allclose(info['P'][:, :3], K, atol=1e-5)
    np.testing.assert_array_equal(info['R'], np.eye(3))
    assert info['distortion_model'] == 'plumb_bob' and not info['D'].any()
    with open(str(REPO / 'config' / 'camera_node.yaml')) as f:
        params = yaml.safe_load(f)['/**']['ros__parameters']
    assert params['fps'] == cam['rate']
    assert params['horizontal_fov'] == cam['horizontal_fov']


def test_load_reads_every_field(tmp_path):
    doc = {'image_width': 640, 'image_height': 480, 'camera_name': 'usb',
           'camera_matrix': {'rows': 3, 'cols': 3, 'data': [500, 0, 320, 0, 501, 240, 0, 0, 1]},
           'distortion_model': 'plumb_bob',
           'distortion_coefficients': {'rows': 1, 'cols': 5,
                                       'data': [-0.3, 0.1, 0.001, -0.002, 0.0]},
           'rectification_matrix': {'rows': 3, 'cols': 3,
                                    'data': [1, 0, 0, 0, 1, 0, 0, 0, 1]},
           'projection_matrix': {'rows': 3, 'cols': 4,
                                 'data': [490, 0, 321, 0, 0, 492, 241, 0, 0, 0, 1, 0]}}
    p = tmp_path / 'cal.yaml'
    p.write_text(yaml.safe_dump(doc))
    info = load_camera_info_yaml(p)
    assert info['camera_name'] == 'usb' and info['width'] == 640
    assert info['K'][1, 1] == 501 and info['D'][0] == -0.3 and info['P'][0, 2] == 321
    msg = camera_info_msg(info['width'], info['height'], info['K'], D=info['D'], P=info['P'],
                          R=info['R'], distortion_model=info['distortion_model'], stamp=12.5)
    assert list(msg.k) == doc['camera_matrix']['data']
    assert list(msg.d) == doc['distortion_coefficients']['data']
    assert list(msg.p) == doc['projection_matrix']['data']
    assert msg.header.frame_id == 'camera_optical_frame'
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (12, 500000000)


GOOD = CAMERA_YAML.read_text()


@pytest.mark.parametrize('text, fragment', [
    ('image_width: [oops', 'not valid YAML'),
    ('just a string', 'expected a mapping'),
    (GOOD.replace('image_width: 320', ''), "missing field 'image_width'"),
    (GOOD.replace('image_height: 240', 'image_height: -5'), 'image_height must be a positive'),
    (GOOD.replace('data: [228.511092, 0.0, 159.5, 0.0, 228.511092, 119.5, 0.0, 0.0, 1.0]',
                  'data: [228.5, 0.0, 159.5]'), 'camera_matrix must be 3x3'),
    (GOOD.replace('data: [0.0, 0.0, 0.0, 0.0, 0.0]', 'data: [0.0, x, 0.0, 0.0, 0.0]'),
     'distortion_coefficients.data must hold numbers'),
    (GOOD.replace('data: [0.0, 0.0, 0.0, 0.0, 0.0]', 'data: [0.0, 0.0, 0.0]'),
     'cols=5 but data has 3'),
    (GOOD.replace('camera_matrix:', 'camera_matrixx:'), "missing field 'camera_matrix'"),
])
def test_malformed_calibration_gives_clear_error(tmp_path, text, fragment):
    p = tmp_path / 'bad.yaml'
    p.write_text(text)
    with pytest.raises(CameraInfoError) as err:
        load_camera_info_yaml(p)
    assert fragment in str(err.value)
    assert str(p) in str(err.value)


def test_missing_calibration_file(tmp_path):
    with pytest.raises(CameraInfoError, match='cannot read calibration file'):
        load_camera_info_yaml(tmp_path / 'nope.yaml')


@pytest.mark.parametrize('encoding', ['bgr8', 'rgb8'])
def test_image_msg_channel_order_and_fast_fill(encoding):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    msg = image_msg(frame, encoding, 'cam', 3.25)
    assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 192, encoding)
    assert isinstance(msg.data, array.array)  # the setter's fast path, never per element
    raw = np.frombuffer(msg.data, np.uint8).reshape(48, 64, 3)
    expect = frame[:, :, ::-1] if encoding == 'rgb8' else frame
    np.testing.assert_array_equal(raw, expect)
    np.testing.assert_array_equal(image_to_bgr(msg), frame)
    assert msg.header.stamp.sec == 3 and msg.header.frame_id == 'cam'
    with pytest.raises(ValueError, match='encoding'):
        image_msg(frame, 'mono8', 'cam', None)
