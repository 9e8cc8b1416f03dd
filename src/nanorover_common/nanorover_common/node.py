"""The ros2/demos node life cycle in one place: init, spin, destroy_node, try_shutdown."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def run_node(node_factory, args=None, executor=None):
    """Create a node with ``node_factory()``, spin it until shutdown, and always clean up.

    Returns a process exit code: 0 on a normal/interrupted shutdown, 1 when the node could not be
    constructed (e.g. a parameter rejected at start-up; the reason has been logged).
    """
    rclpy.init(args=args)
    node = None
    code = 0
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
        # rclpy can raise from a message take that races the SIGINT handler's shutdown
        # ("Unable to convert call argument"); once the context is shut down that is the
        # requested stop, not a failure. While running, errors propagate as before.
        if rclpy.ok():
            raise
    finally:
        if node is not None:
            close = getattr(node, 'close', None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code


class StartupError(RuntimeError):
    """A node cannot start; the message says why (bad parameter, missing file, ...)."""
