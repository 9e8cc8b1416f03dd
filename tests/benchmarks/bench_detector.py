#!/usr/bin/env python3
"""Detector benchmark (make bench): figures as ratios against baselines run in this process.

1. CPU latency of the shipped INT8 model vs the FP32 baseline, ONNX Runtime, model input size,
   1 and 2 intra-op threads (median of N runs).
2. mAP@0.5 / mAP@.5:.95 of both on the held-out rendered set (world hall, seed 777); INT8 - FP32.
3. End-to-end latency of detector_node over DDS (image stamp -> detections received), vs the
   in-process Detector pipeline (letterbox + inference + decode + NMS) on the same images.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / 'models'
FP32, INT8 = MODELS / 'nanorover_det_fp32.onnx', MODELS / 'nanorover_det_int8.onnx'


def latency():
    from nanorover_perception.training.evaluate import measure_latency
    for threads in (1, 2):
        f = measure_latency(str(FP32), threads, runs=150)
        q = measure_latency(str(INT8), threads, runs=150)
        print('latency %d thread(s): FP32 %.2f ms (baseline), INT8 %.2f ms -> INT8/FP32 = %.2f'
              % (threads, f, q, q / f))


def accuracy(n):
    from nanorover_perception.training.data import HELDOUT_WORLD, render_set
    from nanorover_perception.training.evaluate import HELDOUT_SEED, evaluate_model
    samples = render_set(HELDOUT_WORLD, n, HELDOUT_SEED)
    r = {p.name: evaluate_model(str(p), samples, 'labels.txt', threads=1) for p in (FP32, INT8)}
    f, q = r[FP32.name], r[INT8.name]
    print('held-out %s, %d images: FP32 mAP@0.5 %.3f mAP@.5:.95 %.3f (baseline); INT8 %.3f / %.3f'
          % (HELDOUT_WORLD, n, f['map50'], f['map'], q['map50'], q['map']))
    print('  INT8 - FP32: mAP@0.5 %+.1f points, mAP@.5:.95 %+.1f points (ratio %.3f)' % (
        100 * (q['map50'] - f['map50']), 100 * (q['map'] - f['map']), q['map50'] / f['map50']))
    return samples


def node_latency(images, frames=60):
    import rclpy
    from nanorover_interfaces.msg import DetectionArray
    from sensor_msgs.msg import Image
    from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
    from nanorover_common.timeutil import from_time_msg
    from nanorover_perception.detector import Detector
    # baseline: the same pipeline in this process
    det = Detector(str(FP32), threads=1)
    base = []
    for img in images[:frames]:
        t = time.perf_counter()
        det(img)
        base.append((time.perf_counter() - t) * 1e3)
    from ament_index_python.packages import get_package_prefix
    exe = os.path.join(get_package_prefix('nanorover_perception'), 'lib', 'nanorover_perception',
                       'detector_node')
    proc = subprocess.Popen([exe, '--ros-args', '-p', 'model_path:=%s' % FP32, '-p', 'threads:=1'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    rclpy.init()
    node = rclpy.create_node('bench_detector')
    lat = []
    pub = node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)

    def on_det(msg):
        now = node.get_clock().now().nanoseconds * 1e-9
        lat.append((now - from_time_msg(msg.header.stamp)) * 1e3)
    node.create_subscription(DetectionArray, 'detections', on_det, RELIABLE_QOS)
    try:
        deadline = time.monotonic() + 20
        k = 0
        # warm-up: until the node answers
        while not lat and time.monotonic() < deadline:
            pub.publish(_image(images[0], node))
            rclpy.spin_once(node, timeout_sec=0.3)
        if not lat:
            print('node latency: detector_node did not answer within 20 s')
            return
        del lat[:]
        sent = 0
        t_end = time.monotonic() + 30
        while sent < frames and time.monotonic() < t_end:
            pub.publish(_image(images[k % len(images)], node))
            sent += 1
            k += 1
            t_next = time.monotonic() + 1.0 / 10   # 10 Hz, slower than the node: no drops
            while time.monotonic() < t_next:
                rclpy.spin_once(node, timeout_sec=0.01)
        t_wait = time.monotonic() + 2
        while len(lat) < sent and time.monotonic() < t_wait:
            rclpy.spin_once(node, timeout_sec=0.05)
        e2e, b = np.median(lat), np.median(base)
        print('node end-to-end (image stamp -> detections, DDS, FP32 = node default, 1 thread): '
              'median %.1f ms, p90 %.1f ms over %d/%d frames; in-process pipeline (baseline) '
              'median %.1f ms -> ratio %.2f' % (e2e, np.percentile(lat, 90), len(lat), sent, b,
                                                e2e / b))
    finally:
        proc.terminate()
        proc.wait(10)
        node.destroy_node()
        rclpy.shutdown()


def _image(img, node):
    from sensor_msgs.msg import Image
    msg = Image(height=img.shape[0], width=img.shape[1], encoding='bgr8', is_bigendian=0,
                step=img.shape[1] * 3)
    msg.header.frame_id = 'camera_optical_frame'
    msg.header.stamp = node.get_clock().now().to_msg()
    msg.data = img.tobytes()
    return msg


def main():
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    if not INT8.exists():
        print('models/ has no trained detector: run nanorover train-detector')
        return 1
    t0 = time.monotonic()
    latency()
    samples = accuracy(int(os.environ.get('BENCH_DETECTOR_IMAGES', '150')))
    node_latency([s[0] for s in samples])
    print('bench_detector: %.0f s' % (time.monotonic() - t0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
