"""nanorover_common.node.run_node: the ros2/demos life cycle and its exit codes."""
import pytest
import rclpy
from rclpy.node import Node

from nanorover_common.node import StartupError, run_node

pytestmark = pytest.mark.ros


class _Raises(Node):
    """Raises from a timer callback, optionally after shutting the context down first (as the
    SIGINT handler does while a message take is under way)."""

    closed = []

    def __init__(self, shutdown_first):
        super().__init__('run_node_under_test')
        self._shutdown_first = shutdown_first
        self.create_timer(0.01, self._tick)

    def _tick(self):
        if self._shutdown_first:
            rclpy.shutdown()
        raise RuntimeError('take failed')

    def close(self):
        _Raises.closed.append(self._shutdown_first)


def test_error_while_shutting_down_is_a_clean_stop():
    assert run_node(lambda: _Raises(True), args=[]) == 0
    assert _Raises.closed[-1] is True


def test_error_while_running_propagates_and_cleans_up():
    with pytest.raises(RuntimeError, match='take failed'):
        run_node(lambda: _Raises(False), args=[])
    assert _Raises.closed[-1] is False
    assert not rclpy.ok()


def test_startup_error_exits_1(capsys):
    def factory():
        raise StartupError('parameter x rejected: because')
    assert run_node(factory, args=[]) == 1
    assert '[FATAL] parameter x rejected: because' in capsys.readouterr().err
