"""nanorover_common.node.run_node: the ros2/demos life cycle and its exit codes."""
import threading

import pytest
import rclpy
from rclpy.node import Node

from nanorover_common.node import StartupError, run_node

pytestmark = pytest.mark.ros


class _Raises(Node):
    """Raises from a timer callback, optionally after shutting the context down first (as the
    SIGINT handler does while a message take is under way)."""

    closed = []

    def __init__(self, shutdown_first, shutdown_after=None):
        super().__init__('run_node_under_test')
        self._shutdown_first = shutdown_first
        self._shutdown_after = shutdown_after
        self.create_timer(0.01, self._tick)

    def _tick(self):
        if self._shutdown_first:
            rclpy.shutdown()
        elif self._shutdown_after is not None:
            # the middleware is already down, the context becomes invalid a moment later
            threading.Timer(self._shutdown_after, rclpy.try_shutdown).start()
        raise RuntimeError('take failed')

    def close(self):
        _Raises.closed.append(self._shutdown_first)


def test_error_while_shutting_down_is_a_clean_stop():
    assert run_node(lambda: _Raises(True), args=[]) == 0
    assert _Raises.closed[-1] is True


def test_error_just_before_the_context_turns_invalid_is_a_clean_stop():
    assert run_node(lambda: _Raises(False, shutdown_after=0.3), args=[]) == 0
    assert _Raises.closed[-1] is False


def test_error_while_running_propagates_and_cleans_up():
    with pytest.raises(RuntimeError, match='take failed'):
        run_node(lambda: _Raises(False), args=[], shutdown_grace=0.3)
    assert _Raises.closed[-1] is False
    assert not rclpy.ok()


def test_startup_error_exits_1(capsys):
    def factory():
        raise StartupError('parameter x rejected: because')
    assert run_node(factory, args=[]) == 1
    assert '[FATAL] parameter x rejected: because' in capsys.readouterr().err


class _CloseRaises(Node):
    """Shuts its context down from a timer (a stop request); close() then raises ``exc``."""

    destroyed = []

    def __init__(self, exc):
        super().__init__('run_node_close_raises')
        self._exc = exc
        self.create_timer(0.01, rclpy.try_shutdown)

    def close(self):
        raise self._exc

    def destroy_node(self):
        _CloseRaises.destroyed.append(type(self._exc))
        return super().destroy_node()


def test_sigint_during_clean_up_is_still_a_clean_stop():
    # Python raises the KeyboardInterrupt of a SIGINT at its next check, possibly inside close()
    assert run_node(lambda: _CloseRaises(KeyboardInterrupt()), args=[]) == 0
    assert _CloseRaises.destroyed[-1] is KeyboardInterrupt
    assert not rclpy.ok()


def test_failing_close_still_destroys_the_node_and_shuts_down():
    with pytest.raises(OSError, match='port vanished'):
        run_node(lambda: _CloseRaises(OSError('port vanished')), args=[])
    assert _CloseRaises.destroyed[-1] is OSError
    assert not rclpy.ok()
