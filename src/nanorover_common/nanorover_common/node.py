"""The ros2/demos node life cycle in one place: init, spin, destroy_node, try_shutdown."""
import faulthandler
import sys
import time

import rclpy
from rclpy.executors import ExternalShutdownException


def run_node(node_factory, args=None, executor=None, shutdown_grace=2.0):
    """Create a node with ``node_factory()``, spin it until shutdown, and always clean up.

    Returns a process exit code: 0 on a normal/interrupted shutdown, 1 when the node could not be
    constructed (e.g. a parameter rejected at start-up; the reason has been logged).

    An error raised by a callback counts as part of the requested stop when the context is shut
    down, or becomes so within ``shutdown_grace`` seconds: rcl_shutdown() shuts the middleware
    down before it marks the context invalid, so a take or publish can fail while rclpy.ok() is
    still true for a moment. Any other error propagates.

    A native crash (SIGSEGV/SIGBUS/SIGABRT in rcl, the DDS or a C extension) prints the Python
    stack of every thread to stderr (faulthandler), so the node's log says where it happened.
    """
    if not faulthandler.is_enabled():
        faulthandler.enable()
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        try:
            node = node_factory()
            if executor is None:
                rclpy.spin(node)
            else:
                executor.add_node(node)
                executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except StartupError as exc:
            # the reason is already in the message; a traceback would only bury it
            sys.stderr.write('[FATAL] %s\n' % exc)
            code = 1
        except Exception:
            # rclpy can raise from a take or publish that races the SIGINT handler's shutdown
            # ("Unable to convert call argument", "publisher's context is invalid"); that is
            # the requested stop, not a failure. While running, errors propagate.
            if not _shutting_down(shutdown_grace):
                raise
        finally:
            _clean_up(node)
    except KeyboardInterrupt:
        # rclpy's SIGINT handler shuts the context down and Python raises KeyboardInterrupt at
        # its next check, which may fall while an error above is handled or during clean-up
        pass
    return code


def _clean_up(node):
    """node.close() when it has one, destroy_node(), try_shutdown(): each even if one before failed."""
    try:
        if node is not None:
            close = getattr(node, 'close', None)
            if close is not None:
                close()
    finally:
        try:
            if node is not None:
                node.destroy_node()
        finally:
            rclpy.try_shutdown()


def _shutting_down(grace):
    """True when the default context is, or within ``grace`` seconds becomes, shut down."""
    deadline = time.monotonic() + grace
    while rclpy.ok():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


class StartupError(RuntimeError):
    """A node cannot start; the message says why (bad parameter, missing file, ...)."""
