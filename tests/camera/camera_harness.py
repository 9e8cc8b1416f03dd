"""Shared pieces of the camera tests: generated video files and a subscriber node."""
import threading

import cv2
import numpy as np

from nanorover_perception.camera_source import synthetic_frame, synthetic_index


def make_video(path, frames=200, fps=25.0, width=320, height=240):
    """Write an MJPG .avi of synthetic_frame(0..frames-1); returns the path as str."""
    path = str(path)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), float(fps), (width, height))
    assert writer.isOpened(), 'cv2.VideoWriter cannot write MJPG .avi here'
    for i in range(frames):
        writer.write(synthetic_frame(i, width, height))
    writer.release()
    return path


def ramp_channel(frame):
    """Index of the channel holding the left-to-right ramp (synthetic_frame puts it in R)."""
    spreads = [int(frame[:, -4:, c].mean()) - int(frame[:, :4, c].mean()) for c in range(3)]
    return int(np.argmax(spreads))


def index_of(frame_bgr):
    return synthetic_index(frame_bgr)


class CameraListener(object):
    """Subscribes camera/image_raw, camera/camera_info and diagnostics on an rclpy node."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, Image

        from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
        self.lock = threading.Lock()
        self.images = []
        self.infos = []
        self.diags = []
        node.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        node.create_subscription(CameraInfo, 'camera/camera_info', self._on_info, SENSOR_QOS)
        node.create_subscription(DiagnosticArray, 'diagnostics', self._on_diag, RELIABLE_QOS)

    def _on_image(self, msg):
        with self.lock:
            self.images.append(msg)

    def _on_info(self, msg):
        with self.lock:
            self.infos.append(msg)

    def _on_diag(self, msg):
        for st in msg.status:
            if st.name == 'camera_node: camera':
                with self.lock:
                    self.diags.append((st.level, st.message, {kv.key: kv.value
                                                              for kv in st.values}))

    def last_diag(self):
        with self.lock:
            return self.diags[-1] if self.diags else None
