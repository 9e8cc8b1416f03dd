"""In-process recorder: raw (still serialised) subscriptions written to an MCAP file, rosbag2 style.

Messages are taken with ``create_subscription(..., raw=True)``: the CDR bytes DDS delivered (with
their encapsulation header) go into the MCAP unchanged, so nothing is deserialised just to be
recorded. Only topics with a handler (trajectories, map, detections, ...) are deserialised, once.
The file uses the MCAP ``ros2`` profile (schema encoding ``ros2msg`` with the concatenated message
definition, message encoding ``cdr``): it opens in Foxglove and reads back with mcap_ros2.reader.
"""
import importlib
import time

from mcap.well_known import MessageEncoding, Profile, SchemaEncoding
from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message

from nanorover_bringup.msgdefs import MsgDefError, msgdef_text
from nanorover_common.qos import MAP_QOS

try:
    from mcap_ros2 import __version__ as _MCAP_ROS2_VERSION
except ImportError:  # pragma: no cover
    _MCAP_ROS2_VERSION = '?'


class Topic(object):
    """A recorded topic: name (relative), type 'pkg/msg/Type', qos ('sensor' or 'map'), max rate."""

    __slots__ = ('name', 'datatype', 'qos', 'max_rate')

    def __init__(self, name, datatype, qos='sensor', max_rate=None):
        self.name = name
        self.datatype = datatype
        self.qos = qos
        self.max_rate = max_rate  # Hz of sim/log time, None = every message


#: what `nanorover sim` records. Best-effort subscriptions match reliable and best-effort
#: publishers alike; the map is subscribed reliable + transient local to get the latched one.
RECORDED_TOPICS = (
    Topic('clock', 'rosgraph_msgs/msg/Clock'),
    Topic('scan', 'sensor_msgs/msg/LaserScan'),
    Topic('odom', 'nav_msgs/msg/Odometry'),
    Topic('sim/ground_truth', 'nav_msgs/msg/Odometry'),
    Topic('sim/collisions', 'std_msgs/msg/UInt32'),
    Topic('slam/pose', 'geometry_msgs/msg/PoseStamped'),
    Topic('slam/map_to_odom', 'geometry_msgs/msg/TransformStamped'),
    Topic('map', 'nav_msgs/msg/OccupancyGrid', qos='map'),
    Topic('cmd_vel', 'geometry_msgs/msg/Twist'),
    Topic('navigation/status', 'nanorover_interfaces/msg/NavigationStatus'),
    Topic('navigation/path', 'nav_msgs/msg/Path'),
    Topic('detections', 'nanorover_interfaces/msg/DetectionArray'),
    Topic('camera/camera_info', 'sensor_msgs/msg/CameraInfo', max_rate=1.0),
    Topic('camera/image_raw', 'sensor_msgs/msg/Image', max_rate=1.0),
)

_SENSOR_QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT)


def message_class(datatype):
    """'pkg/msg/Type' -> the rclpy message class (ImportError/AttributeError when not installed)."""
    pkg, sub, name = datatype.split('/')
    return getattr(importlib.import_module('%s.%s' % (pkg, sub)), name)


class McapRawWriter(object):
    """An MCAP file (ros2 profile) fed with serialised CDR messages."""

    def __init__(self, path, compression=CompressionType.ZSTD):
        self.path = str(path)
        self._file = open(self.path, 'wb')
        self._writer = McapWriter(self._file, compression=compression)
        self._writer.start(profile=Profile.ROS2,
                           library='nanorover recorder, mcap-ros2-support %s' % _MCAP_ROS2_VERSION)
        self._schemas = {}
        self._channels = {}
        self._sequence = {}
        self.closed = False

    def add_channel(self, topic, datatype, definition):
        schema_id = self._schemas.get(datatype)
        if schema_id is None:
            schema_id = self._writer.register_schema(datatype, SchemaEncoding.ROS2,
                                                     definition.encode())
            self._schemas[datatype] = schema_id
        self._channels[topic] = self._writer.register_channel(
            topic=topic, message_encoding=MessageEncoding.CDR, schema_id=schema_id)
        self._sequence[topic] = 0

    def write(self, topic, data, log_time_ns, publish_time_ns=None):
        if self.closed:
            return
        seq = self._sequence[topic]
        self._sequence[topic] = seq + 1
        self._writer.add_message(channel_id=self._channels[topic], log_time=int(log_time_ns),
                                 publish_time=int(log_time_ns if publish_time_ns is None
                                                  else publish_time_ns),
                                 sequence=seq, data=bytes(data))

    def add_metadata(self, name, data):
        if not self.closed:
            self._writer.add_metadata(name, dict((str(k), str(v)) for k, v in data.items()))

    def close(self):
        if not self.closed:
            self.closed = True
            self._writer.finish()
            self._file.close()


class Recorder(object):
    """Raw subscriptions on ``node`` for ``topics``, written to ``writer``.

    handlers: {topic: callable(msg)} called with the deserialised message (after recording).
    clock_ns: callable giving the log time in ns (default: wall time; `nanorover sim` gives the
    latest sim clock, as rosbag2 does with --use-sim-time).
    Topics whose type is not installed are skipped and listed in ``skipped``.
    """

    def __init__(self, node, writer, topics=RECORDED_TOPICS, handlers=None, clock_ns=None):
        self.node = node
        self.writer = writer
        self.handlers = dict(handlers or {})
        self.clock_ns = clock_ns or time.time_ns
        self.counts = {}
        self.skipped = {}
        self._last_written = {}
        self._subs = []
        for topic in topics:
            try:
                cls = message_class(topic.datatype)
                definition = msgdef_text(topic.datatype)
            except (ImportError, AttributeError, MsgDefError) as exc:
                self.skipped[topic.name] = '%s: %s' % (topic.datatype, exc)
                continue
            writer.add_channel(topic.name, topic.datatype, definition)
            self.counts[topic.name] = 0
            qos = MAP_QOS if topic.qos == 'map' else _SENSOR_QOS
            self._subs.append(node.create_subscription(
                cls, topic.name, self._make_callback(topic, cls), qos, raw=True))

    def _make_callback(self, topic, cls):
        handler = self.handlers.get(topic.name)
        min_period = int(1e9 / topic.max_rate) if topic.max_rate else 0
        name = topic.name

        def callback(data):
            now = self.clock_ns()
            self.counts[name] += 1
            last = self._last_written.get(name)
            if not min_period or last is None or now - last >= min_period or now < last:
                self._last_written[name] = now
                self.writer.write(name, data, now)
            if handler is not None:
                handler(deserialize_message(data, cls))
        return callback

    def close(self):
        for sub in self._subs:
            self.node.destroy_subscription(sub)
        self._subs = []
        self.writer.close()
