"""diagnostic_msgs helpers: a status from (key, value) pairs and a periodic `diagnostics` publisher."""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from nanorover_common.qos import RELIABLE_QOS

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


def make_status(name, level, message, hardware_id='', values=()):
    """DiagnosticStatus with ``values`` (pairs or a dict) rendered as strings."""
    if isinstance(values, dict):
        values = sorted(values.items())
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                            values=[KeyValue(key=str(k), value=str(v)) for k, v in values])


class DiagnosticsPublisher(object):
    """Publishes ``status_fn()`` (one DiagnosticStatus or a list) on ``diagnostics`` every
    ``period`` seconds of the node's clock, stamped with the node clock."""

    def __init__(self, node, period, status_fn, topic='diagnostics'):
        self._node = node
        self._status_fn = status_fn
        self.publisher = node.create_publisher(DiagnosticArray, topic, RELIABLE_QOS)
        self.timer = node.create_timer(period, self.publish)

    def publish(self):
        status = self._status_fn()
        arr = DiagnosticArray(status=status if isinstance(status, list) else [status])
        arr.header.stamp = self._node.get_clock().now().to_msg()
        self.publisher.publish(arr)
