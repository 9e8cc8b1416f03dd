"""launch_testing: detector.launch.py on published camera images -> detections.

Runs only where ROS 2 launch is installed (skipped on the pip path, see _skip.REASON).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _skip import NodeTestCase, require_launch  # noqa: E402

launch, launch_ros, launch_testing = require_launch()

import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import rclpy  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from nanorover_interfaces.msg import DetectionArray  # noqa: E402


@pytest.mark.launch_test
def generate_test_description():
    detector = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(
            get_package_share_directory('nanorover_bringup'), 'launch', 'detector.launch.py')))
    return launch.LaunchDescription([detector, launch_testing.actions.ReadyToTest()])


class TestDetections(NodeTestCase):

    node_name = 'detector_launch_test'

    def test_every_image_gets_a_detection_array(self):
        qos = rclpy.qos.qos_profile_sensor_data
        got = []
        self.node.create_subscription(DetectionArray, 'detections', got.append, 10)
        img_pub = self.node.create_publisher(Image, 'camera/image_raw', qos)
        info_pub = self.node.create_publisher(CameraInfo, 'camera/camera_info', qos)
        frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
        img = Image(height=240, width=320, encoding='bgr8', step=960, data=frame.tobytes())
        img.header.frame_id = 'camera_optical_frame'
        info = CameraInfo(height=240, width=320)
        info.header.frame_id = 'camera_optical_frame'

        def publish():
            img.header.stamp = info.header.stamp = self.node.get_clock().now().to_msg()
            info_pub.publish(info)
            img_pub.publish(img)
        # 60 s: the first inference loads the model
        self.spin_until(lambda: got, 60.0, 'a DetectionArray', step=publish)
        self.assertEqual((got[-1].image_width, got[-1].image_height), (320, 240))
        self.assertEqual(got[-1].header.frame_id, 'camera_optical_frame')


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
