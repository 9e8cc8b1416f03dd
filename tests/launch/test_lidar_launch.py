"""launch_testing: lidar.launch.py drives the real G4 driver against the pty G4 emulator -> scan.

Runs only where ROS 2 launch is installed (skipped on the pip path, see _skip.REASON).
"""
import os
import sys
import tempfile
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
from sensor_msgs.msg import LaserScan  # noqa: E402

LINK = os.path.join(tempfile.gettempdir(), 'nanorover_launch_test_g4')
EMULATOR = {}


@pytest.mark.launch_test
def generate_test_description():
    from ydlidar_g4.emulator import G4Emulator
    # a 2 m circular room around the lidar
    emu = G4Emulator(lambda theta, t: np.full(np.shape(theta), 2.0), link_path=LINK)
    emu.start()
    EMULATOR['emu'] = emu
    lidar = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(
            get_package_share_directory('nanorover_bringup'), 'launch', 'lidar.launch.py')),
        launch_arguments={'port': LINK}.items())
    return launch.LaunchDescription([lidar, launch_testing.actions.ReadyToTest()])


class TestScanArrives(NodeTestCase):

    node_name = 'lidar_launch_test'

    @classmethod
    def tearDownClass(cls):
        super(TestScanArrives, cls).tearDownClass()
        EMULATOR['emu'].stop()

    def test_scan_of_the_room(self):
        scans = []
        self.node.create_subscription(LaserScan, 'scan', scans.append,
                                      rclpy.qos.qos_profile_sensor_data)
        self.spin_until(lambda: len(scans) >= 3, 30.0, 'three scans')
        scan = scans[-1]
        self.assertEqual(scan.header.frame_id, 'laser_frame')
        valid = [r for r in scan.ranges if scan.range_min <= r <= scan.range_max]
        self.assertGreater(len(valid), len(scan.ranges) // 2)
        self.assertAlmostEqual(sorted(valid)[len(valid) // 2], 2.0, delta=0.1)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
