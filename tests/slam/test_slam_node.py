"""slam_node over real DDS: scans + odom in -> map and pose out; save_map; bad parameters.
Plus: a save killed mid-way leaves the previous map intact (nanorover_common.map_io.write_map)."""
import array
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, spin_until, wait_for
from nanorover_common.map_io import MapInfo, read_map, write_map
from nanorover_common.timeutil import to_time_msg
from nanorover_navigation.geometry import (quaternion_from_yaw, se2_compose, wrap_angle,
                                           yaw_from_quaternion)
from synthetic import cast, room_grid

pytestmark = pytest.mark.ros

ROBOT_YAML = str(REPO / 'config' / 'robot.yaml')


class Client(object):
    """Test-side node: publishes scan + odom, records map / slam/pose / slam/map_to_odom."""

    def __init__(self, ctx):
        from geometry_msgs.msg import PoseStamped, TransformStamped
        from nav_msgs.msg import OccupancyGrid, Odometry
        from rclpy.node import Node
        from sensor_msgs.msg import LaserScan

        from nanorover_common.qos import MAP_QOS, RELIABLE_QOS, SENSOR_QOS
        from nanorover_interfaces.srv import SaveMap
        self.node = Node('slam_test_client', context=ctx)
        self.scan_pub = self.node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.odom_pub = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.maps, self.poses, self.tfs = [], [], []
        self.node.create_subscription(OccupancyGrid, 'map', self.maps.append, MAP_QOS)
        self.pose_sub = self.node.create_subscription(PoseStamped, 'slam/pose',
                                                      self.poses.append, RELIABLE_QOS)
        self.node.create_subscription(TransformStamped, 'slam/map_to_odom', self.tfs.append,
                                      RELIABLE_QOS)
        self.save = self.node.create_client(SaveMap, 'slam/save_map')
        self.LaserScan, self.Odometry, self.SaveMap = LaserScan, Odometry, SaveMap

    def publish(self, t, odom_pose, ranges, angle_min, inc):
        o = self.Odometry()
        o.header.stamp = to_time_msg(t)
        o.header.frame_id = 'odom'
        o.child_frame_id = 'base_footprint'
        o.pose.pose.position.x, o.pose.pose.position.y = float(odom_pose[0]), float(odom_pose[1])
        q = quaternion_from_yaw(float(odom_pose[2]))
        o.pose.pose.orientation.z, o.pose.pose.orientation.w = q[2], q[3]
        self.odom_pub.publish(o)
        s = self.LaserScan()
        s.header.stamp = to_time_msg(t)
        s.header.frame_id = 'laser_frame'
        s.angle_min = float(angle_min)
        s.angle_increment = float(inc)
        s.angle_max = float(angle_min + inc * (len(ranges) - 1))
        s.range_min, s.range_max = 0.12, 12.0
        s.scan_time = 0.1
        s.ranges = array.array('f', [float(v) for v in ranges])
        self.scan_pub.publish(s)

    def call_save(self, executor, path):
        req = self.SaveMap.Request()
        req.path = path
        fut = self.save.call_async(req)
        spin_until(executor, fut.done, 20.0, 'save_map response')
        return fut.result()


@pytest.fixture
def slam_node(start_node, tmp_path):
    return start_node('nanorover_navigation', 'slam_node', params={
        'robot_config': ROBOT_YAML, 'map_publish_period': 0.3,
        'map_path': str(tmp_path / 'default' / 'map')})


def test_scan_and_odom_in_map_and_pose_out_then_save(ros_context, executor, slam_node,
                                                     tmp_path):
    client = Client(ros_context)
    executor.add_node(client.node)
    spin_until(executor, lambda: client.scan_pub.get_subscription_count() > 0 and
               client.odom_pub.get_subscription_count() > 0 and client.save.service_is_ready() and
               client.pose_sub.get_publisher_count() > 0,
               20.0, 'slam_node subscriptions, slam/pose publisher and service')
    # no map yet: save_map says so and writes nothing
    res = client.call_save(executor, str(tmp_path / 'early'))
    assert not res.success and 'no map' in res.message
    assert not (tmp_path / 'early.yaml').exists()

    occ, info = room_grid()
    truth = np.array([2.0, 3.0, 0.0])
    odom = truth.copy()                      # odom frame == world frame at the start
    t = 1000.0
    for k in range(45):
        ranges, amin, inc = cast(occ, info, truth, beams=360)
        want = len(client.poses) + 1
        # best effort: re-send a lost scan; the first ones can be lost while the
        # subscriber side of discovery completes (up to ~15 s on a loaded machine)
        for _ in range(3 if k else 10):
            client.publish(t, odom, ranges, amin, inc)
            try:
                spin_until(executor, lambda: len(client.poses) >= want, 1.5 if not k else 3.0,
                           'slam/pose')
                break
            except AssertionError:
                continue
        assert len(client.poses) >= want, 'no slam/pose for scan %d' % k
        step = np.array([0.06, 0.0, 0.03])
        truth = se2_compose(truth, step)
        odom = se2_compose(odom, step * [1.15, 1.0, 0.8])   # drifting odometry
        t += 0.1
    last_truth = se2_compose(truth, -np.array([0.06, 0.0, 0.03]))
    pose = client.poses[-1]
    assert pose.header.frame_id == 'map'
    est = np.array([pose.pose.position.x, pose.pose.position.y,
                    yaw_from_quaternion(pose.pose.orientation)])
    assert np.hypot(*(est[:2] - last_truth[:2])) < 0.05
    assert abs(wrap_angle(est[2] - last_truth[2])) < 0.03
    tf = client.tfs[-1]
    assert tf.header.frame_id == 'map' and tf.child_frame_id == 'odom'
    assert math.hypot(tf.transform.translation.x, tf.transform.translation.y) > 0.05  # correction

    # the map: walls where the room's walls are, free space inside
    spin_until(executor, lambda: client.maps, 10.0, 'map')
    m = client.maps[-1]
    assert m.header.frame_id == 'map' and m.info.resolution == pytest.approx(0.05)
    grid = np.array(m.data, dtype=np.int8).reshape(m.info.height, m.info.width)
    ox, oy = m.info.origin.position.x, m.info.origin.position.y

    def cell(x, y, r=1):
        c = int((x - ox) / 0.05)
        rr = int((y - oy) / 0.05)
        return grid[max(rr - r, 0):rr + r + 1, max(c - r, 0):c + r + 1]

    for wall in ((8.02, 2.5), (-0.02, 3.0), (4.0, -0.02), (3.0, 6.02), (8.02, 2.0)):
        assert (cell(*wall) == 100).any(), wall
    for free in ((2.0, 3.0), (4.0, 2.0), (6.0, 3.0)):
        assert (cell(*free, r=0) == 0).all(), free
    rows, cols = np.nonzero(grid == 100)
    x = ox + (cols + 0.5) * 0.05
    y = oy + (rows + 0.5) * 0.05
    near = (np.abs(x) < 0.1) | (np.abs(x - 8.0) < 0.1) | (np.abs(y) < 0.1) | \
        (np.abs(y - 6.0) < 0.1)
    pillar = occ[np.clip(((y + 0.5) / 0.05).astype(int), 0, occ.shape[0] - 1),
                 np.clip(((x + 0.5) / 0.05).astype(int), 0, occ.shape[1] - 1)]
    assert (near | pillar).mean() > 0.85

    # save_map: a valid map_server pair
    res = client.call_save(executor, str(tmp_path / 'maps' / 'room.yaml'))
    assert res.success, res.message
    assert res.message.endswith('room.yaml')
    saved, sinfo = read_map(str(tmp_path / 'maps' / 'room.yaml'))
    assert saved.shape == grid.shape
    assert sinfo.resolution == pytest.approx(0.05)
    assert sinfo.origin[0] == pytest.approx(ox) and sinfo.origin[1] == pytest.approx(oy)
    assert ((saved == 100) == (grid == 100)).mean() > 0.99
    # empty path: the map_path parameter
    res = client.call_save(executor, '')
    assert res.success and (tmp_path / 'default' / 'map.pgm').exists()
    # unwritable path: a clear failure, the node keeps running
    res = client.call_save(executor, '/proc/no/such/dir/map')
    assert not res.success and 'cannot save' in res.message
    assert slam_node.alive()
    client.node.destroy_node()


def test_bad_parameter_is_rejected_with_reason(start_node):
    p = start_node('nanorover_navigation', 'slam_node',
                   params={'robot_config': ROBOT_YAML, 'resolution': 5.0})
    wait_for(lambda: not p.alive(), 20.0, 'slam_node to exit')
    assert p.proc.returncode == 1
    assert 'resolution' in p.output()
    q = start_node('nanorover_navigation', 'slam_node',
                   params={'robot_config': '/nonexistent/robot.yaml'})
    wait_for(lambda: not q.alive(), 20.0, 'slam_node to exit')
    assert q.proc.returncode == 1 and 'lidar pose' in q.output()


SAVER = textwrap.dedent('''
    import os, sys, time
    import numpy as np
    from nanorover_common import map_io
    real_fsync = os.fsync
    def slow_fsync(fd):           # a slow disk: the save is mid-way when the parent kills us
        sys.stdout.write('writing\\n'); sys.stdout.flush()
        time.sleep(60)
    os.fsync = slow_fsync
    grid = np.full((2000, 3000), 100, dtype=np.int8)
    map_io.write_map(sys.argv[1], grid, map_io.MapInfo(0.05))
''')


def test_killed_save_leaves_previous_map_intact(tmp_path):
    stem = str(tmp_path / 'map')
    old = np.zeros((40, 60), dtype=np.int8)
    old[0, :] = 100
    old[10:20, 10:20] = -1
    write_map(stem, old, MapInfo(0.05, (-1.0, -2.0, 0.0)))
    before = (Path(stem + '.pgm').read_bytes(), Path(stem + '.yaml').read_bytes())
    proc = subprocess.Popen([sys.executable, '-c', SAVER, stem], stdout=subprocess.PIPE,
                            env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        assert line.strip() == b'writing'
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert (Path(stem + '.pgm').read_bytes(), Path(stem + '.yaml').read_bytes()) == before
    grid, info = read_map(stem + '.yaml')
    assert np.array_equal(grid, old) and info.origin[:2] == (-1.0, -2.0)
