"""launch_testing: base_node (as robot.launch.py starts it) against the motor_emulator pty -> odom.

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
import pytest  # noqa: E402
import rclpy  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from geometry_msgs.msg import Twist  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402

LINK = os.path.join(tempfile.gettempdir(), 'nanorover_launch_test_base')


@pytest.mark.launch_test
def generate_test_description():
    config_dir = os.path.join(get_package_share_directory('nanorover_bringup'), 'config')
    emulator = launch_ros.actions.Node(
        package='nanorover_base', executable='motor_emulator', output='screen',
        arguments=['--link', LINK, '--robot-config', os.path.join(config_dir, 'robot.yaml')])
    base = launch_ros.actions.Node(
        package='nanorover_base', executable='base_node', name='base_node', output='screen',
        parameters=[os.path.join(config_dir, 'base.yaml'), {'port': LINK}])
    # the base opens the port after the emulator created the link
    return launch.LaunchDescription([
        emulator,
        launch.actions.TimerAction(period=2.0, actions=[base]),
        launch_testing.actions.ReadyToTest(),
    ]), {'base': base}


class TestOdom(NodeTestCase):

    node_name = 'base_launch_test'

    def test_cmd_vel_moves_odom(self):
        odom = []
        self.node.create_subscription(Odometry, 'odom', odom.append,
                                      rclpy.qos.qos_profile_sensor_data)
        pub = self.node.create_publisher(Twist, 'cmd_vel', 10)
        cmd = Twist()
        cmd.linear.x = 0.2
        self.spin_until(lambda: odom and odom[-1].pose.pose.position.x > 0.1, 30.0,
                        'odom 0.1 m ahead', step=lambda: pub.publish(cmd))
        self.assertGreater(odom[-1].pose.pose.position.x, 0.1)
        self.assertEqual(odom[-1].child_frame_id, 'base_footprint')
        self.assertAlmostEqual(odom[-1].twist.twist.linear.x, 0.2, delta=0.05)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):

    def test_base_exits_cleanly(self, proc_info, base):
        launch_testing.asserts.assertExitCodes(proc_info, process=base,
                                               allowable_exit_codes=[0, -2, -15])
