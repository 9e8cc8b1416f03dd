"""detector_node as its own process over real DDS: rendered image in -> detections out where the
renderer put the objects (shipped trained model); a broken model is reported, not fatal."""
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros

from conftest import spin_until  # noqa: E402
from nanorover_perception.detection import box_iou  # noqa: E402

OK, ERROR = b'\x00', b'\x02'   # diagnostic_msgs/DiagnosticStatus levels (byte fields)


def image_msg(image, stamp, frame='camera_optical_frame'):
    from nanorover_perception.camera_info import image_msg as bgr_image_msg
    return bgr_image_msg(image, 'bgr8', frame, stamp)


def make_io(ros_context, executor):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from nanorover_interfaces.msg import DetectionArray
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray
    from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
    node = rclpy.create_node('detector_test_io', context=ros_context)
    got = {'det': [], 'diag': [], 'image': [], 'markers': []}
    pub = node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
    node.create_subscription(DetectionArray, 'detections', got['det'].append, RELIABLE_QOS)
    node.create_subscription(DiagnosticArray, 'diagnostics', got['diag'].append, RELIABLE_QOS)
    node.create_subscription(Image, 'detections/image', got['image'].append, SENSOR_QOS)
    node.create_subscription(MarkerArray, 'detections/markers', got['markers'].append,
                             RELIABLE_QOS)
    executor.add_node(node)
    return node, pub, got


def diag_values(got):
    """key -> value of the newest OK/WARN detector diagnostics."""
    for a in reversed(got['diag']):
        for s in a.status:
            if s.level != ERROR:
                return {v.key: v.value for v in s.values}
    return {}


def publish_until(executor, node, pub, image, predicate, timeout=20.0, what='detections'):
    """Re-publish (best-effort topic, node may still be starting) until predicate() holds."""
    from builtin_interfaces.msg import Time
    deadline = time.monotonic() + timeout
    k = 0
    while time.monotonic() < deadline:
        k += 1
        pub.publish(image_msg(image, Time(sec=1000 + k, nanosec=5)))
        try:
            return spin_until(executor, predicate, timeout=0.5, what=what)
        except AssertionError:
            continue
    raise AssertionError('timed out after %.0f s waiting for %s' % (timeout, what))


def test_rendered_objects_are_detected_where_they_are(ros_context, executor, start_node):
    from det_scene import clear_views
    from sensor_msgs.msg import CameraInfo
    from nanorover_common.qos import SENSOR_QOS
    proc = start_node('nanorover_perception', 'detector_node',
                      params={'model_path': 'nanorover_det_int8.onnx', 'threads': 1,
                              'score_threshold': 0.3, 'publish_image': True})
    node, pub, got = make_io(ros_context, executor)
    info_pub = node.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
    info = CameraInfo(width=320, height=240)
    info.k = [228.5, 0.0, 160.0, 0.0, 228.5, 120.0, 0.0, 0.0, 1.0]
    views = clear_views('office', seed=3, n=3)
    matched = 0
    for image, labels in views:
        del got['det'][:]
        publish_until(executor, node, pub, image, lambda: got['det'], what='detections')
        msg = got['det'][0]
        assert msg.header.frame_id == 'camera_optical_frame'
        assert msg.header.stamp.sec > 1000 and msg.header.stamp.nanosec == 5   # copied
        assert (msg.image_width, msg.image_height) == (image.shape[1], image.shape[0])
        for lab in labels:
            same = [d for d in msg.detections if d.class_name == lab['cls']]
            if not same:
                continue
            boxes = np.array([[d.x_min, d.y_min, d.x_max, d.y_max] for d in same])
            if box_iou([lab['box']], boxes).max() >= 0.5:
                matched += 1
    n_labels = sum(len(labels) for _, labels in views)
    assert matched == n_labels, 'matched %d of %d rendered objects; node log:\n%s' % (
        matched, n_labels, proc.output())
    # annotated image: same size, boxes drawn
    spin_until(executor, lambda: got['image'], timeout=10, what='detections/image')
    ann = got['image'][-1]
    assert (ann.width, ann.height, ann.encoding) == (320, 240, 'bgr8')
    drawn = np.frombuffer(ann.data, np.uint8).reshape(240, 320, 3)
    assert not any(np.array_equal(drawn, img) for img, _ in views)
    # markers: a DELETEALL, then a box outline + a label per detection (needs camera_info)
    def markers():
        info_pub.publish(info)     # best effort: keep sending until the node has it
        return got['markers']
    publish_until(executor, node, pub, views[0][0], markers, what='markers')
    m = got['markers'][-1].markers
    assert m[0].action == m[0].DELETEALL
    strips = [x for x in m if x.type == x.LINE_STRIP]
    assert len(strips) >= 1 and all(len(x.points) == 5 for x in strips)
    assert all(abs(p.z - 2.0) < 1e-6 for x in strips for p in x.points)
    # diagnostics report the model and the rates
    spin_until(executor, lambda: any(s.level == OK and any(v.key == 'fps' for v in s.values)
                                     for a in got['diag'] for s in a.status),
               timeout=10, what='OK diagnostics')
    assert proc.alive()
    proc.stop_expect(0)


def test_missing_model_is_one_error_and_the_node_stays_up(ros_context, executor, start_node,
                                                          tmp_path):
    missing = str(tmp_path / 'no_such_model.onnx')
    proc = start_node('nanorover_perception', 'detector_node', params={'model_path': missing})
    node, pub, got = make_io(ros_context, executor)

    def error_diag():
        for a in got['diag']:
            for s in a.status:
                if s.level == ERROR and 'does not exist' in s.message and missing in s.message:
                    return s
        return None
    image = np.full((240, 320, 3), 90, np.uint8)
    publish_until(executor, node, pub, image, error_diag, what='ERROR diagnostics')
    # keep feeding images: no detections, no crash, no log flood
    for k in range(10):
        pub.publish(image_msg(image, node.get_clock().now().to_msg()))
        executor.spin_once(timeout_sec=0.05)
    spin_until(executor, lambda: sum(1 for a in got['diag'] for s in a.status
                                     if s.level == ERROR) >= 2, timeout=10, what='second diag')
    assert proc.alive()
    assert got['det'] == []
    log = proc.output()
    assert log.count('ERROR') == 1, log
    assert 'does not exist' in log
    # fixing the parameter at run time loads the model: detections start
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    cli = node.create_client(SetParameters, '/detector_node/set_parameters')
    assert cli.wait_for_service(timeout_sec=10)
    fut = cli.call_async(SetParameters.Request(parameters=[
        Parameter('model_path', value='nanorover_det_fp32.onnx').to_parameter_msg()]))
    spin_until(executor, fut.done, timeout=10, what='set_parameters')
    assert fut.result().results[0].successful
    publish_until(executor, node, pub, image, lambda: got['det'], what='detections after reload')
    proc.stop_expect(0)


def test_broken_model_file_is_reported(ros_context, executor, start_node, tmp_path):
    bad = tmp_path / 'broken.onnx'
    bad.write_bytes(b'not an onnx file' * 64)
    proc = start_node('nanorover_perception', 'detector_node', params={'model_path': str(bad)})
    node, pub, got = make_io(ros_context, executor)
    spin_until(executor, lambda: any(s.level == ERROR and 'onnxruntime cannot load' in s.message
                                     for a in got['diag'] for s in a.status),
               timeout=20, what='ERROR diagnostics for a broken model')
    assert proc.alive()
    assert proc.output().count('ERROR') == 1
    proc.stop_expect(0)


def test_stale_frames_are_dropped_and_the_newest_is_processed(ros_context, executor, start_node):
    """A burst of frames: every received frame is either processed or dropped (counted), never
    queued, and the newest one is always processed."""
    from builtin_interfaces.msg import Time
    proc = start_node('nanorover_perception', 'detector_node',
                      params={'model_path': 'nanorover_det_fp32.onnx', 'threads': 1})
    node, pub, got = make_io(ros_context, executor)
    image = np.full((240, 320, 3), 100, np.uint8)
    publish_until(executor, node, pub, image, lambda: got['det'], what='first detections')
    before = spin_until(executor, lambda: diag_values(got), timeout=10, what='diagnostics')
    n_before = int(before['frames_in'])

    def settled():
        v = diag_values(got)
        return v and int(v['frames_in']) == int(v['frames_processed']) + int(
            v['frames_dropped']) and int(v['frames_in']) > n_before + 1 and v

    # Bursts of 40 frames in a few ms. Under load the transport (SensorDataQoS: best effort,
    # keep last 5) may hand the node only one or two of them, too few to show a skip, so up to
    # five bursts are sent until the node has skipped a frame.
    for b in range(5):
        first = 5000 + 100 * b
        burst = [image_msg(image, Time(sec=first + k)) for k in range(40)]
        for msg in burst:
            pub.publish(msg)

        def newest_done():
            return any(d.header.stamp.sec == first + 39 for d in got['det'])
        for _ in range(10):   # best effort: re-send the newest frame if the transport lost it
            try:
                spin_until(executor, newest_done, timeout=1.5, what='the newest frame')
                break
            except AssertionError:
                pub.publish(burst[-1])
        assert newest_done()
        got['diag'].clear()
        v = spin_until(executor, settled, timeout=10, what='frame accounting in diagnostics')
        processed_burst = sum(1 for d in got['det'] if first <= d.header.stamp.sec < first + 40)
        assert processed_burst <= 40
        if int(v['frames_dropped']) > 0:
            break
    # the stale frames of a burst were skipped, not queued
    assert int(v['frames_dropped']) > 0, (v, processed_burst)
    assert float(v['inference_ms']) > 0 and 'nanorover_det_fp32.onnx' in v['model']
    proc.stop_expect(0)
