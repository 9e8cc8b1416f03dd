"""camera_node: a V4L2 / CSI (GStreamer) camera or a video file -> camera/image_raw + camera_info.

Publishes (relative names, SensorDataQoS):
  ``camera/image_raw``   sensor_msgs/Image, bgr8 or rgb8 (``encoding``), frame ``frame_id``
  ``camera/camera_info`` sensor_msgs/CameraInfo, same stamp as the image it belongs to
and ``diagnostics`` (diagnostic_msgs/DiagnosticArray, every ``diagnostics_period`` s): measured
FPS, published/dropped frames, reconnects, source state, last error.

A grabber thread keeps only the newest frame, stamped at capture time with the node clock
(``use_sim_time`` honoured); a publisher thread sends each new frame once (no queue build-up).

Failure policy:
* malformed settings exit 1 at start-up with one ``[FATAL]`` line (StartupError): an unparsable
  ``source``, a malformed GStreamer pipeline or a pipeline on an OpenCV without GStreamer, a
  missing or malformed calibration file, width/height contradicting the calibration;
* a source that is absent or vanishes (device unplugged, file missing, pipeline that fails to
  open) keeps the node up: one error/warning line, silent retries with exponential backoff
  ``reconnect_min_s``..``reconnect_max_s``, one info line when it is back; diagnostics say ERROR
  meanwhile.

Python 3.6 compatible (runs on the robot).
"""
import os
import threading

from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from nanorover_common.diagnostics import DiagnosticsPublisher, make_status
from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import SENSOR_QOS
from nanorover_perception.camera_info import (DEFAULT_FRAME_ID, ENCODINGS, CameraInfoError,
                                              camera_info_msg, camera_info_msg_from_dict,
                                              default_intrinsics, image_msg,
                                              load_camera_info_yaml)
from nanorover_perception.camera_source import (Backoff, FrameGrabber, SourceConfigError,
                                                SourceSpec, open_source_factory,
                                                require_gstreamer)


def _check_url(url):
    if url and not (url.startswith('file://') or url.startswith('package://') or '://' not in url):
        return 'only file://, package:// URLs or plain paths are supported'
    return None


SPECS = [
    Param('source', 'csi', 'camera source: csi[:N] (Jetson CSI camera via GStreamer), a V4L2 '
          'device (0, /dev/video0), a GStreamer pipeline ending in appsink, or a video file / '
          'image-sequence pattern (replayed at its FPS)', read_only=True),
    Param('width', 0, 'image width [px]; 0 = the calibration file\'s (or the source\'s own)',
          range=(0, 8192), read_only=True),
    Param('height', 0, 'image height [px]; 0 = the calibration file\'s (or the source\'s own)',
          range=(0, 8192), read_only=True),
    Param('fps', 0.0, 'frame rate asked of the device / CSI pipeline, replay rate of image '
          'sequences [Hz]; 0 = the source\'s own (video files always replay at their FPS)',
          range=(0.0, 240.0), read_only=True),
    Param('encoding', 'bgr8', 'image_raw encoding', choices=ENCODINGS, read_only=True),
    Param('frame_id', DEFAULT_FRAME_ID, 'frame of the images (optical frame, z forward)',
          read_only=True),
    Param('camera_info_url', '', 'calibration YAML (camera_info format): path, file:// or '
          'package:// URL; empty = uncalibrated pinhole from horizontal_fov',
          validator=_check_url, read_only=True),
    Param('horizontal_fov', 1.2217, 'horizontal field of view for the uncalibrated default [rad]',
          range=(0.05, 3.1), read_only=True),
    Param('flip_method', 0, 'nvvidconv flip-method of the CSI pipeline (0 none, 2 rotate 180)',
          range=(0, 7), read_only=True),
    Param('fourcc', '', 'V4L2 pixel format to ask for, e.g. MJPG (empty = driver default)',
          read_only=True),
    Param('loop', True, 'replay a video file in a loop (else the source ends at EOF)',
          read_only=True),
    Param('reconnect_min_s', 0.5, 'first reconnect delay after the source vanished [s]',
          range=(0.01, 60.0), read_only=True),
    Param('reconnect_max_s', 8.0, 'longest reconnect delay (exponential backoff) [s]',
          range=(0.01, 600.0), read_only=True),
    Param('diagnostics_period', 1.0, 'diagnostics publishing period [s]', range=(0.1, 10.0),
          read_only=True),
]


def resolve_url(url):
    """camera_info_url -> file path ('' stays ''). package://pkg/rel -> <share of pkg>/rel."""
    if url.startswith('file://'):
        return url[len('file://'):]
    if url.startswith('package://'):
        from ament_index_python.packages import get_package_share_directory
        pkg, _, rel = url[len('package://'):].partition('/')
        return os.path.join(get_package_share_directory(pkg), rel)
    return os.path.expanduser(url)


class CameraNode(Node):

    def __init__(self):
        super().__init__('camera_node')
        self.p = declare_parameters(self, SPECS)
        p = self.p
        if (p['width'] == 0) != (p['height'] == 0):
            raise StartupError('give both width and height, or neither (got %dx%d)'
                               % (p['width'], p['height']))
        self.calibration = None
        path = resolve_url(p['camera_info_url'])
        if path:
            try:
                self.calibration = load_camera_info_yaml(path)
            except CameraInfoError as exc:
                raise StartupError('camera_info_url: %s' % exc)
            size = (self.calibration['width'], self.calibration['height'])
            if p['width'] and (p['width'], p['height']) != size:
                raise StartupError('width/height %dx%d contradict the calibration %s (%dx%d): '
                                   'set 0 or calibrate at that size'
                                   % (p['width'], p['height'], path, size[0], size[1]))
        else:
            size = (p['width'], p['height']) if p['width'] else None
        self.size = size
        try:
            self.spec = SourceSpec.parse(p['source'], size[0] if size else 0,
                                         size[1] if size else 0, p['fps'], p['flip_method'])
            require_gstreamer(self.spec)
        except SourceConfigError as exc:
            raise StartupError('source %r: %s' % (p['source'], exc))
        if p['reconnect_max_s'] < p['reconnect_min_s']:
            raise StartupError('reconnect_max_s (%s) < reconnect_min_s (%s)'
                               % (p['reconnect_max_s'], p['reconnect_min_s']))

        self.image_pub = self.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
        self._info_cache = {}
        self.published = 0
        log = self.get_logger()
        self.grabber = FrameGrabber(
            open_source_factory(self.spec, size[0] if size else 0, size[1] if size else 0,
                                p['fps'], p['loop'], p['fourcc'], log),
            clock=self.get_clock().now,
            backoff=Backoff(p['reconnect_min_s'], p['reconnect_max_s']),
            log=log, size=size)
        log.info('camera %s -> camera/image_raw %s %s, %s' % (
            self.spec.label, '%dx%d' % size if size else '(source size)', p['encoding'],
            'calibration %s' % path if path else
            'uncalibrated (horizontal_fov %.3f rad)' % p['horizontal_fov']))
        self.diagnostics = DiagnosticsPublisher(self, p['diagnostics_period'],
                                                self.diagnostic_status)
        self._running = True
        self.grabber.start()
        self._publisher = threading.Thread(target=self._publish_loop, name='camera_publisher')
        self._publisher.daemon = True
        self._publisher.start()

    def info_for(self, width, height):
        """CameraInfo (cached) for an image size: the calibration, else from horizontal_fov."""
        key = (width, height)
        msg = self._info_cache.get(key)
        if msg is None:
            if self.calibration is not None:
                msg = camera_info_msg_from_dict(self.calibration, frame_id=self.p['frame_id'])
            else:
                K = default_intrinsics(width, height, self.p['horizontal_fov'])
                msg = camera_info_msg(width, height, K, frame_id=self.p['frame_id'])
            self._info_cache[key] = msg
        return msg

    def _publish_loop(self):
        while self._running:
            item = self.grabber.wait_frame(timeout=0.5)
            if item is None:
                continue
            frame, stamp, _ = item
            stamp_msg = stamp.to_msg()
            img = image_msg(frame, self.p['encoding'], self.p['frame_id'], stamp_msg)
            info = self.info_for(img.width, img.height)
            info.header.stamp = stamp_msg
            try:
                self.image_pub.publish(img)
                self.info_pub.publish(info)
            except Exception:  # context shut down while publishing (Ctrl-C)
                if not self._running:
                    return
                raise
            self.published += 1

    def diagnostic_status(self):
        s = self.grabber.stats()
        expected = s['source_fps']
        if s['state'] == 'streaming':
            age = s['frame_age']
            if age is not None and age > max(2.0, 5.0 / (expected or 1.0)):
                level, message = DiagnosticStatus.ERROR, 'no frames (source stalled)'
            elif expected and s['fps'] < 0.5 * expected:
                level, message = DiagnosticStatus.WARN, 'low frame rate'
            else:
                level, message = DiagnosticStatus.OK, 'streaming'
        elif s['state'] == 'lost':
            level, message = DiagnosticStatus.ERROR, 'source lost, reconnecting'
        elif s['state'] == 'failed':
            level, message = DiagnosticStatus.ERROR, 'source failed'
        else:
            level = DiagnosticStatus.ERROR if s['last_error'] else DiagnosticStatus.WARN
            message = 'opening source'
        values = [('state', s['state']), ('source', self.p['source']),
                  ('measured_fps', '%.2f' % s['fps']), ('source_fps', '%.2f' % expected),
                  ('frames_captured', s['frames']), ('frames_published', self.published),
                  ('dropped_frames', s['dropped']), ('reconnects', s['reconnects']),
                  ('last_error', s['last_error']), ('encoding', self.p['encoding']),
                  ('calibrated', self.calibration is not None)]
        return make_status('camera_node: camera', level, message, hardware_id=self.spec.label,
                           values=values)

    def close(self):
        self._running = False
        self.grabber.stop()
        self._publisher.join(2.0)


def main(args=None):
    return run_node(CameraNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
