"""detector_node: camera/image_raw -> detections (nanorover_interfaces/DetectionArray).

Thin rclpy shell around ``nanorover_perception.detector.Detector`` (ROS-free core):

* subscribes ``camera/image_raw`` (SensorDataQoS) and keeps only the newest frame; a worker thread
  processes it (stale frames are dropped and counted, never queued);
* publishes ``detections`` (header copied from the image), optionally ``detections/image``
  (annotated bgr8) and ``detections/markers`` (visualization_msgs/MarkerArray: the boxes drawn on a
  plane ``marker_distance`` m in front of the camera, once ``camera/camera_info`` has arrived);
* ``diagnostics``: model / backend / layout, FPS, inference and end-to-end latency, dropped
  frames; a model that cannot be used is ONE error log line + diagnostics ERROR, the node stays up
  (and reloads when model parameters are changed).
"""
import collections
import threading
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Point
from nanorover_interfaces.msg import Detection as DetectionMsg
from nanorover_interfaces.msg import DetectionArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from nanorover_common.diagnostics import DiagnosticsPublisher, make_status
from nanorover_common.node import run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
from nanorover_common.timeutil import from_time_msg
from nanorover_perception.backends import BACKENDS, DEFAULT_PROVIDERS, PROVIDER_ALIASES
from nanorover_perception.camera_info import image_msg
from nanorover_perception.detection import LAYOUTS, draw_detections
from nanorover_perception.detector import DEFAULT_LABELS, DEFAULT_MODEL, Detector

ENCODINGS = {'bgr8': 3, 'rgb8': 3, 'mono8': 1, 'bgra8': 4, 'rgba8': 4}
MODEL_PARAMS = ('model_path', 'labels_path', 'config_path', 'backend', 'layout', 'providers',
                'input_width', 'input_height', 'threads')


def _providers_ok(value):
    bad = [p for p in value if p.lower() not in PROVIDER_ALIASES and
           not p.endswith('ExecutionProvider')]
    if bad:
        return 'unknown provider(s) %s; use %s or full ONNX Runtime names' % (
            ', '.join(bad), ', '.join(sorted(PROVIDER_ALIASES)))
    return None


SPECS = [
    Param('model_path', DEFAULT_MODEL,
          'model file: .onnx (ONNX Runtime), .engine/.plan (TensorRT), .pb (OpenCV DNN). Relative '
          'paths: $NANOROVER_MODELS, the repo models/, share/nanorover_perception/models; '
          'python:<package>/<file> = a file inside an installed Python package'),
    Param('labels_path', DEFAULT_LABELS, 'class names, one per line (index = class id); '
          'empty = class_<id>'),
    Param('config_path', '', 'text graph (.pbtxt) of a TF frozen graph (OpenCV DNN backend); '
          'empty = the only .pbtxt next to the model'),
    Param('backend', 'auto', 'inference backend (auto = from the file extension)',
          choices=BACKENDS),
    Param('layout', 'auto', 'output layout (auto = detected from the output shapes)',
          choices=('auto',) + LAYOUTS),
    Param('providers', list(DEFAULT_PROVIDERS), 'ONNX Runtime execution providers in priority '
          'order (tensorrt, cuda, cpu); unavailable ones fall back to the next with a log line',
          ptype=Parameter.Type.STRING_ARRAY, validator=_providers_ok),
    Param('input_width', 0, 'network input width; 0 = from the model', range=(0, 4096)),
    Param('input_height', 0, 'network input height; 0 = from the model', range=(0, 4096)),
    Param('threads', 2, 'ONNX Runtime intra-op threads (0 = all cores)', range=(0, 64)),
    Param('score_threshold', 0.35, 'minimum detection score', range=(0.0, 1.0)),
    Param('nms_iou', 0.45, 'class-aware NMS IoU threshold', range=(0.0, 1.0)),
    Param('max_detections', 100, 'detections per image after NMS', range=(1, 1000)),
    Param('publish_image', False, 'publish the annotated image on detections/image'),
    Param('publish_markers', True, 'publish detections/markers (needs camera/camera_info)'),
    Param('marker_distance', 2.0, 'distance of the marker plane in front of the camera [m]',
          range=(0.1, 100.0)),
    Param('diagnostics_period', 1.0, 'diagnostics publishing period [s]', range=(0.1, 60.0)),
]


class DetectorNode(Node):
    def __init__(self):
        super().__init__('detector_node')
        self.params = declare_parameters(self, SPECS, on_change=self._on_params)
        self.det_pub = self.create_publisher(DetectionArray, 'detections', RELIABLE_QOS)
        self.image_pub = self.create_publisher(Image, 'detections/image', SENSOR_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, 'detections/markers', RELIABLE_QOS)
        self.detector = None
        self.error = None
        self._lock = threading.Condition()
        self._latest = None
        self._reload = True
        self._pending = {}
        self._stop = False
        self._warned = set()
        self.camera_k = None
        self.frames_in = 0
        self.frames_done = 0
        self.frames_dropped = 0
        self._infer_ms = collections.deque(maxlen=50)
        self._latency_ms = collections.deque(maxlen=50)
        self._done_times = collections.deque(maxlen=50)
        self._load_model()  # at start-up, so a bad model is reported before the first image
        self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        self.create_subscription(CameraInfo, 'camera/camera_info', self._on_info, SENSOR_QOS)
        self.diagnostics = DiagnosticsPublisher(self, self.params['diagnostics_period'],
                                                self.diagnostic_status)
        self._worker = threading.Thread(target=self._run, name='detector', daemon=True)
        self._worker.start()

    # -- model -----------------------------------------------------------------------------
    def _load_model(self):
        p = self.params
        self._reload = False
        try:
            self.detector = Detector(
                p['model_path'], labels_path=p['labels_path'], layout=p['layout'],
                backend=p['backend'], providers=list(p['providers']),
                input_width=p['input_width'], input_height=p['input_height'],
                score_threshold=p['score_threshold'], nms_iou=p['nms_iou'],
                max_detections=p['max_detections'], threads=p['threads'],
                config_path=p['config_path'], logger=self.get_logger())
            self.error = None
            self.get_logger().info('detector ready: %s' % self.detector.description)
        except Exception as exc:  # ModelError, LayoutError, or anything a broken file raises
            self.detector = None
            self.error = '%s: %s' % (type(exc).__name__, exc)
            self.get_logger().error('no usable model, detections disabled until the model '
                                    'parameters change: %s' % self.error)

    def _on_params(self, changed):
        det = self.detector
        if det is not None:
            det.score_threshold = changed.get('score_threshold', det.score_threshold)
            det.nms_iou = changed.get('nms_iou', det.nms_iou)
            det.max_detections = changed.get('max_detections', det.max_detections)
        model_changes = dict((k, v) for k, v in changed.items() if k in MODEL_PARAMS)
        if model_changes:
            with self._lock:
                self._pending.update(model_changes)
                self._reload = True
                self._lock.notify()
        return None

    # -- callbacks -------------------------------------------------------------------------
    def _on_info(self, msg):
        self.camera_k = tuple(msg.k)

    def _on_image(self, msg):
        with self._lock:
            if self._latest is not None:
                self.frames_dropped += 1
            self._latest = msg
            self.frames_in += 1
            self._lock.notify()

    def _run(self):
        while True:
            with self._lock:
                while not self._stop and self._latest is None and not self._reload:
                    self._lock.wait(0.5)
                if self._stop:
                    return
                msg, self._latest = self._latest, None
                reload, pending, self._pending = self._reload, self._pending, {}
            if reload:
                self.params.update(pending)
                self._load_model()
            if msg is None or self.detector is None:
                continue
            try:
                self._process(msg)
            except Exception as exc:  # never let one bad frame kill the worker
                self._warn_once('frame skipped: %s: %s' % (type(exc).__name__, exc))

    def _warn_once(self, text):
        if text not in self._warned and len(self._warned) < 20:
            self._warned.add(text)
            self.get_logger().warning(text)

    def image_view(self, msg):
        """A numpy view (no copy) of an Image message as BGR / gray, or raise ValueError."""
        ch = ENCODINGS.get(msg.encoding)
        if ch is None:
            raise ValueError('unsupported image encoding %r (supported: %s)' % (
                msg.encoding, ', '.join(sorted(ENCODINGS))))
        buf = np.frombuffer(msg.data, dtype=np.uint8)
        if msg.step < msg.width * ch or buf.size < msg.step * msg.height:
            raise ValueError('image %dx%d %s: step %d / %d bytes do not fit' % (
                msg.width, msg.height, msg.encoding, msg.step, buf.size))
        rows = buf[:msg.step * msg.height].reshape(msg.height, msg.step)[:, :msg.width * ch]
        img = rows.reshape(msg.height, msg.width, ch) if ch > 1 else rows
        if msg.encoding in ('rgb8', 'rgba8', 'bgra8'):
            import cv2
            code = {'rgb8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGBA2BGR,
                    'bgra8': cv2.COLOR_BGRA2BGR}[msg.encoding]
            img = cv2.cvtColor(img, code)
        return img

    def _process(self, msg):
        img = self.image_view(msg)
        detections = self.detector(img)
        out = DetectionArray()
        out.header = msg.header
        out.image_width = msg.width
        out.image_height = msg.height
        for d in detections:
            out.detections.append(DetectionMsg(
                class_id=d.class_id, class_name=d.class_name, score=d.score, x_min=d.x1,
                y_min=d.y1, x_max=d.x2, y_max=d.y2))
        self.det_pub.publish(out)
        now = self.get_clock().now().nanoseconds * 1e-9
        self._latency_ms.append((now - from_time_msg(msg.header.stamp)) * 1e3)
        self._infer_ms.append(self.detector.timings.get('infer_ms', 0.0))
        self._done_times.append(time.monotonic())
        self.frames_done += 1
        if self.params['publish_image'] and self.image_pub.get_subscription_count() > 0:
            self._publish_image(msg, img, detections)
        if self.params['publish_markers'] and self.camera_k is not None and \
                self.marker_pub.get_subscription_count() > 0:
            self.marker_pub.publish(self.markers(msg.header, detections))

    def _publish_image(self, msg, img, detections):
        if img.ndim == 2:
            import cv2
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        self.image_pub.publish(image_msg(draw_detections(img, detections), 'bgr8',
                                         msg.header.frame_id, msg.header.stamp))

    def markers(self, header, detections):
        """Boxes as LINE_STRIPs (+ text) on a plane ``marker_distance`` m in front of the camera."""
        fx, cx, fy, cy = self.camera_k[0], self.camera_k[2], self.camera_k[4], self.camera_k[5]
        z = self.params['marker_distance']
        arr = MarkerArray()
        clear = Marker(header=header, action=Marker.DELETEALL)
        arr.markers.append(clear)
        if fx <= 0 or fy <= 0:
            return arr
        for i, d in enumerate(detections):
            def pt(u, v):
                return Point(x=(u - cx) / fx * z, y=(v - cy) / fy * z, z=z)
            m = Marker(header=header, ns='detections', id=2 * i, type=Marker.LINE_STRIP,
                       action=Marker.ADD)
            m.pose.orientation.w = 1.0
            m.scale.x = 0.01 * z
            m.color.r, m.color.g, m.color.b, m.color.a = 0.1, 1.0, 0.2, 1.0
            m.points = [pt(d.x1, d.y1), pt(d.x2, d.y1), pt(d.x2, d.y2), pt(d.x1, d.y2),
                        pt(d.x1, d.y1)]
            t = Marker(header=header, ns='detections', id=2 * i + 1,
                       type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, text='%s %.2f' % (
                           d.class_name, d.score))
            t.pose.position = pt(d.x1, d.y1)
            t.pose.orientation.w = 1.0
            t.scale.z = 0.05 * z
            t.color.r = t.color.g = t.color.b = t.color.a = 1.0
            arr.markers.extend([m, t])
        return arr

    # -- diagnostics -----------------------------------------------------------------------
    def diagnostic_status(self):
        values = [('frames_in', self.frames_in), ('frames_processed', self.frames_done),
                  ('frames_dropped', self.frames_dropped)]
        if self.detector is None:
            level, message = DiagnosticStatus.ERROR, self.error or 'no model loaded'
        else:
            level, message = DiagnosticStatus.OK, 'ok'
            times = list(self._done_times)
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and \
                times[-1] > times[0] else 0.0
            if times and time.monotonic() - times[-1] > 5.0:
                fps = 0.0
                message = 'no images processed in the last 5 s'
            values += [('model', self.detector.description), ('fps', '%.2f' % fps),
                       ('inference_ms', '%.2f' % (np.median(self._infer_ms)
                                                  if self._infer_ms else 0.0)),
                       ('latency_ms', '%.2f' % (np.median(self._latency_ms)
                                                if self._latency_ms else 0.0))]
            if self._warned:
                level, message = DiagnosticStatus.WARN, sorted(self._warned)[-1]
        return make_status('%s: detector' % self.get_name(), level, message,
                           hardware_id=str(self.params['model_path']), values=values)

    def close(self):
        with self._lock:
            self._stop = True
            self._lock.notify()
        self._worker.join(5.0)


def main(args=None):
    return run_node(DetectorNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
