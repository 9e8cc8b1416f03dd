"""camera_node as its own process over real DDS, fed by a generated MJPG video file."""
import os
from pathlib import Path

import numpy as np
import pytest
from rclpy.node import Node

from camera_harness import CameraListener, index_of, make_video, ramp_channel
from conftest import spin_until, wait_for
from nanorover_perception.camera_info import image_to_bgr, load_camera_info_yaml

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[2]
CAMERA_YAML = REPO / 'config' / 'camera.yaml'
FILE_FPS = 25.0  # not the node's 30 Hz fallback: the rate must come from the file


@pytest.fixture
def listener(ros_context, executor):
    node = Node('camera_test_listener', context=ros_context)
    executor.add_node(node)
    yield CameraListener(node)
    node.destroy_node()


def rate_from_stamps(images):
    """Frames per second of capture stamps, over runs of consecutive file frames (drops in
    transport and the loop restart excluded)."""
    frames, seconds = 0, 0.0
    prev = None
    for msg in images:
        idx = index_of(image_to_bgr(msg))
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if prev is not None:
            step = (idx - prev[0]) % 256
            if 1 <= step <= 5:
                frames += step
                seconds += t - prev[1]
        prev = (idx, t)
    return frames / seconds if seconds else 0.0


def test_video_file_frames_rate_size_encoding_and_camera_info(tmp_path, start_node, executor,
                                                              listener):
    video = make_video(tmp_path / 'pattern.avi', frames=200, fps=FILE_FPS)
    proc = start_node('nanorover_perception', 'camera_node',
                      params={'source': video, 'encoding': 'rgb8',
                              'camera_info_url': 'file://' + str(CAMERA_YAML),
                              'diagnostics_period': 0.5})
    spin_until(executor, lambda: len(listener.images) >= 50 or not proc.alive(), 20.0,
               '50 images')
    assert proc.alive(), proc.output()
    images = list(listener.images[5:])  # skip discovery warm-up
    for msg in images:
        assert (msg.width, msg.height, msg.encoding, msg.step) == (320, 240, 'rgb8', 960)
        assert msg.header.frame_id == 'camera_optical_frame'
    # rgb8: the ramp that the file has in R (BGR index 2) is channel 0 of the message
    raw = np.frombuffer(images[0].data, np.uint8).reshape(240, 320, 3)
    assert ramp_channel(raw) == 0
    # content: consecutive file frames, in order (best effort may lose a few, never reorder)
    idx = [index_of(image_to_bgr(m)) for m in images]
    steps = [(b - a) % 256 for a, b in zip(idx, idx[1:])]
    assert sum(1 for s in steps if s == 1) >= 0.8 * len(steps), idx
    assert all(1 <= s <= 10 or b == 0 for s, b in zip(steps, idx[1:])), idx  # 0: loop restart
    rate = rate_from_stamps(images)
    assert rate == pytest.approx(FILE_FPS, rel=0.12), rate

    spin_until(executor, lambda: listener.infos, 10.0, 'camera_info')
    info = listener.infos[-1]
    cal = load_camera_info_yaml(CAMERA_YAML)
    assert (info.width, info.height) == (cal['width'], cal['height'])
    np.testing.assert_allclose(np.asarray(info.k).reshape(3, 3), cal['K'])
    np.testing.assert_allclose(np.asarray(info.p).reshape(3, 4), cal['P'])
    np.testing.assert_allclose(np.asarray(info.r).reshape(3, 3), cal['R'])
    assert list(info.d) == list(cal['D']) and info.distortion_model == cal['distortion_model']
    assert info.header.frame_id == 'camera_optical_frame'
    stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in listener.images}
    assert (info.header.stamp.sec, info.header.stamp.nanosec) in stamps  # paired with an image

    spin_until(executor, lambda: listener.last_diag() and
               float(listener.last_diag()[2]['measured_fps']) > 0, 10.0, 'diagnostics with fps')
    level, message, values = listener.last_diag()
    assert values['state'] == 'streaming' and values['calibrated'] == 'True'
    assert float(values['measured_fps']) == pytest.approx(FILE_FPS, rel=0.25)
    assert float(values['source_fps']) == FILE_FPS
    proc.stop_expect(0)


def test_vanished_source_is_reported_and_recovered(tmp_path, start_node, executor, listener):
    video = make_video(tmp_path / 'replay.avi', frames=100, fps=FILE_FPS)
    proc = start_node('nanorover_perception', 'camera_node',
                      params={'source': video, 'reconnect_min_s': 0.1, 'reconnect_max_s': 0.4,
                              'diagnostics_period': 0.2})
    spin_until(executor, lambda: len(listener.images) >= 5 or not proc.alive(), 20.0,
               'first images')
    img = listener.images[-1]
    assert img.encoding == 'bgr8'
    assert ramp_channel(np.frombuffer(img.data, np.uint8).reshape(240, 320, 3)) == 2
    os.rename(video, video + '.unplugged')
    spin_until(executor, lambda: listener.last_diag() and
               listener.last_diag()[2]['state'] == 'lost', 15.0, 'diagnostics: source lost')
    level, message, values = listener.last_diag()
    assert level == b'\x02' and 'replay.avi' in values['last_error']  # why: gone, no file
    # several diagnostics periods (and reconnect attempts) later: still one log line
    n = len(listener.diags)
    spin_until(executor, lambda: len(listener.diags) >= n + 5, 15.0, 'more diagnostics')
    assert listener.last_diag()[2]['state'] == 'lost'
    wait_for(lambda: 'camera source lost' in proc.output(), 10.0, 'log line')
    assert proc.output().count('camera source lost') == 1, proc.output()

    before = len(listener.images)
    os.rename(video + '.unplugged', video)
    spin_until(executor, lambda: len(listener.images) >= before + 10, 15.0, 'images again')
    spin_until(executor, lambda: listener.last_diag()[2]['state'] == 'streaming', 10.0,
               'diagnostics: streaming')
    assert listener.last_diag()[2]['reconnects'] == '1'
    assert proc.output().count('camera source back') == 1
    proc.stop_expect(0)


@pytest.mark.parametrize('params, fragment', [
    ({'source': 'nvarguscamerasrc ! nvvidconv ! ! appsink'}, 'element 3 of 4 is empty'),
    ({'source': 'videotestsrc ! appsink'}, 'GStreamer'),
    ({'source': 'x.avi', 'camera_info_url': '__BAD__'}, 'camera_matrix must be 3x3'),
    ({'source': 'x.avi', 'encoding': 'yuv422'}, "encoding='yuv422' is not one of"),
])
def test_bad_settings_exit_with_one_clear_error(tmp_path, start_node, params, fragment):
    if params.get('camera_info_url') == '__BAD__':
        bad = tmp_path / 'bad_camera.yaml'
        bad.write_text(CAMERA_YAML.read_text().replace(
            'data: [228.511092, 0.0, 159.5, 0.0, 228.511092, 119.5, 0.0, 0.0, 1.0]',
            'data: [228.5, 0.0, 159.5]'))
        params = dict(params, camera_info_url=str(bad))
    if fragment == 'GStreamer':
        from nanorover_perception.camera_source import gstreamer_available
        if gstreamer_available():
            pytest.skip('this OpenCV has GStreamer: the pipeline opens (or is retried)')
    proc = start_node('nanorover_perception', 'camera_node', params=params)
    proc.proc.wait(20.0)
    out = proc.output()
    assert proc.proc.returncode == 1, out
    fatal = [line for line in out.splitlines() if line.startswith('[FATAL]')]
    assert len(fatal) == 1 and fragment in fatal[0], out
    assert 'Traceback' not in out


def test_missing_source_at_start_keeps_node_up_until_it_appears(tmp_path, start_node, executor,
                                                                 listener):
    video = tmp_path / 'later.avi'
    proc = start_node('nanorover_perception', 'camera_node',
                      params={'source': str(video), 'reconnect_min_s': 0.1,
                              'reconnect_max_s': 0.3, 'diagnostics_period': 0.2})
    spin_until(executor, lambda: listener.last_diag() and
               listener.last_diag()[2]['last_error'], 15.0, 'diagnostics with the error')
    level, message, values = listener.last_diag()
    assert level == b'\x02' and values['state'] == 'opening' and 'no such file' in \
        values['last_error']
    n = len(listener.diags)
    spin_until(executor, lambda: len(listener.diags) >= n + 3, 10.0, 'retries go on')
    assert proc.alive()
    assert proc.output().count('cannot open camera source') == 1, proc.output()
    make_video(tmp_path / 'tmp.avi', frames=50, fps=FILE_FPS)
    os.rename(str(tmp_path / 'tmp.avi'), str(video))  # appears atomically
    spin_until(executor, lambda: len(listener.images) >= 5, 15.0, 'images once it exists')
    proc.stop_expect(0)
