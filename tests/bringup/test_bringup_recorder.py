"""The in-process recorder: raw DDS messages -> MCAP that mcap_ros2 decodes to the published."""
import array
import math

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip('rclpy')

from mcap.reader import make_reader  # noqa: E402
from mcap_ros2.decoder import DecoderFactory  # noqa: E402
from nav_msgs.msg import OccupancyGrid, Odometry  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import LaserScan  # noqa: E402

from conftest import spin_until  # noqa: E402
from nanorover_bringup.msgdefs import field_types, msgdef_text  # noqa: E402
from nanorover_bringup.recorder import McapRawWriter, Recorder, Topic  # noqa: E402
from nanorover_common.qos import MAP_QOS, SENSOR_QOS  # noqa: E402
from nanorover_common.timeutil import to_time_msg  # noqa: E402


def test_msgdef_has_every_dependency_once_in_rosbag2_layout():
    text = msgdef_text('nav_msgs/msg/Odometry')
    blocks = text.split('=' * 80 + '\n')
    assert 'std_msgs/Header header' in blocks[0]
    names = [b.splitlines()[0] for b in blocks[1:]]
    assert all(n.startswith('MSG: ') for n in names)
    deps = sorted(n[5:] for n in names)
    assert deps == sorted(set(deps))
    for needed in ('std_msgs/Header', 'builtin_interfaces/Time', 'geometry_msgs/PoseWithCovariance',
                   'geometry_msgs/TwistWithCovariance', 'geometry_msgs/Quaternion',
                   'geometry_msgs/Vector3'):
        assert needed in deps


def test_field_types_skips_primitives_constants_and_resolves_own_package():
    text = ('uint8 IDLE=0\nstring NAME = "a#b"\nfloat64[9] k\nstring<=8 s\nint32[<=3] b\n'
            'Detection[] detections  # same package\nstd_msgs/Header header\n'
            'geometry_msgs/Point[4] corners\n')
    assert field_types(text, 'pkg') == ['pkg/Detection', 'std_msgs/Header', 'geometry_msgs/Point']


def _scan(i):
    m = LaserScan()
    m.header.stamp = to_time_msg(10.0 + 0.1 * i)
    m.header.frame_id = 'laser_frame'
    m.angle_min, m.angle_max = -math.pi, math.pi
    m.angle_increment = 2 * math.pi / 8
    m.range_min, m.range_max = 0.1, 16.0
    m.ranges = array.array('f', [1.0 + i, 2.5, float('inf'), 0.25 * i, 3.0, 4.0, 5.0, 6.0])
    return m


def _odom(i):
    m = Odometry()
    m.header.stamp = to_time_msg(20.0 + i)
    m.header.frame_id = 'odom'
    m.child_frame_id = 'base_footprint'
    m.pose.pose.position.x = 0.5 * i
    m.pose.pose.orientation.z = math.sin(0.1 * i)
    m.pose.pose.orientation.w = math.cos(0.1 * i)
    m.twist.twist.angular.z = -0.25 * i
    return m


def test_mcap_round_trip_over_dds(ros_context, executor, tmp_path):
    from nanorover_interfaces.msg import Detection, DetectionArray
    path = tmp_path / 'rec.mcap'
    rec_node = rclpy.create_node('recorder_under_test', context=ros_context)
    pub_node = rclpy.create_node('publisher', context=ros_context)
    executor.add_node(rec_node)
    executor.add_node(pub_node)
    seen = []
    topics = (Topic('scan', 'sensor_msgs/msg/LaserScan'), Topic('odom', 'nav_msgs/msg/Odometry'),
              Topic('map', 'nav_msgs/msg/OccupancyGrid', qos='map'),
              Topic('detections', 'nanorover_interfaces/msg/DetectionArray'),
              Topic('clock', 'rosgraph_msgs/msg/Clock', max_rate=2.0),
              Topic('not/installed', 'no_such_msgs/msg/Nothing'))
    recorder = Recorder(rec_node, McapRawWriter(path), topics,
                        handlers={'odom': lambda m: seen.append(m.pose.pose.position.x)})
    assert 'not/installed' in recorder.skipped
    # the map is published before anybody listens: transient local must still deliver it
    grid = OccupancyGrid()
    grid.header.frame_id = 'map'
    grid.info.resolution = 0.05
    grid.info.width, grid.info.height = 3, 2
    grid.data = [0, 100, -1, 0, 0, 100]
    map_pub = pub_node.create_publisher(OccupancyGrid, 'map', MAP_QOS)
    map_pub.publish(grid)
    pubs = dict((n, pub_node.create_publisher(t, n, SENSOR_QOS)) for n, t in
                (('scan', LaserScan), ('odom', Odometry), ('clock', Clock)))
    det_pub = pub_node.create_publisher(DetectionArray, 'detections', 10)
    spin_until(executor, lambda: all(p.get_subscription_count() > 0 for p in pubs.values())
               and det_pub.get_subscription_count() > 0, what='recorder subscriptions')
    dets = DetectionArray()
    dets.header.stamp = to_time_msg(3.5)
    dets.image_width, dets.image_height = 320, 240
    dets.detections = [Detection(class_id=2, class_name='chair', score=0.75, x_min=1.0,
                                 y_min=2.0, x_max=30.5, y_max=40.0)]
    scans = [_scan(i) for i in range(5)]
    odoms = [_odom(i) for i in range(5)]
    for s, o in zip(scans, odoms):
        pubs['scan'].publish(s)
        pubs['odom'].publish(o)
        executor.spin_once(timeout_sec=0.01)
    det_pub.publish(dets)
    # clock: 10 messages within 1 s of log time, recorded at most 2 per second (decimation)
    for i in range(10):
        pubs['clock'].publish(Clock(clock=to_time_msg(i * 0.1)))
    want = {'scan': 5, 'odom': 5, 'map': 1, 'detections': 1, 'clock': 10}
    spin_until(executor, lambda: all(recorder.counts[k] >= n for k, n in want.items()),
               what='all messages at the recorder (%s)' % want)
    recorder.close()
    assert seen == [o.pose.pose.position.x for o in odoms]

    got = {}
    schemas = {}
    with open(str(path), 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == 'ros2'
        for schema, channel, _message, msg in reader.iter_decoded_messages():
            got.setdefault(channel.topic, []).append(msg)
            schemas[channel.topic] = schema.name
    assert schemas['scan'] == 'sensor_msgs/msg/LaserScan'
    assert schemas['detections'] == 'nanorover_interfaces/msg/DetectionArray'
    assert [list(s.ranges) for s in got['scan']] == [list(s.ranges) for s in scans]
    assert [(s.header.stamp.sec, s.header.stamp.nanosec, s.header.frame_id)
            for s in got['scan']] == [(s.header.stamp.sec, s.header.stamp.nanosec, 'laser_frame')
                                      for s in scans]
    assert [(o.pose.pose.position.x, o.pose.pose.orientation.z, o.twist.twist.angular.z,
             o.child_frame_id) for o in got['odom']] == \
        [(o.pose.pose.position.x, o.pose.pose.orientation.z, o.twist.twist.angular.z,
          'base_footprint') for o in odoms]
    (m,) = got['map']
    assert list(m.data) == [0, 100, -1, 0, 0, 100] and (m.info.width, m.info.height) == (3, 2)
    (d,) = got['detections']
    assert (d.image_width, d.detections[0].class_name, d.detections[0].x_max) == (320, 'chair',
                                                                                    30.5)
    assert abs(d.detections[0].score - 0.75) < 1e-6
    assert 1 <= len(got['clock']) < 10  # decimated by log time

