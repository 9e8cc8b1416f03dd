"""Shared guard of the launch_testing tests: skip the module where ROS launch is not installed."""
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
