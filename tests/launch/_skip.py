"""Shared guard of the launch_testing tests: skip the module where ROS launch is not installed."""
import time
import unittest

import pytest

REASON = ('launch_testing / launch_ros are not installable on the pip-only ROS path '
          '(shared/ROS2_ON_PIP.md); these launch tests run on a ROS 2 install '
          '(colcon test, or `launch_test tests/launch/<file>`, e.g. in docker/Dockerfile.dev)')


def require_launch():
    """Import and return (launch, launch_ros, launch_testing) or skip the calling module."""
    launch = pytest.importorskip('launch', reason=REASON)
    launch_ros = pytest.importorskip('launch_ros', reason=REASON)
    launch_testing = pytest.importorskip('launch_testing', reason=REASON)
    pytest.importorskip('launch_testing.actions', reason=REASON)
    return launch, launch_ros, launch_testing


class NodeTestCase(unittest.TestCase):
    """unittest case with one rclpy node for the class (launch_testing runs it in-process)."""

    node_name = 'launch_test'

    @classmethod
    def setUpClass(cls):
        import rclpy
        rclpy.init()
        cls.node = rclpy.create_node(cls.node_name)

    @classmethod
    def tearDownClass(cls):
        import rclpy
        cls.node.destroy_node()
        rclpy.shutdown()

    def spin_until(self, predicate, timeout, what, step=None):
        """Spin the node (calling ``step()`` each round) until ``predicate()``; fail after
        ``timeout`` s with ``what``."""
        import rclpy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if step is not None:
                step()
            rclpy.spin_once(self.node, timeout_sec=0.05)
            if predicate():
                return
        self.fail('timed out after %.0f s waiting for %s' % (timeout, what))
