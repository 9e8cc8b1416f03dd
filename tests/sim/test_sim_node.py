"""sim_node over real DDS: kinematics, odometry, clock + use_sim_time, camera, lidar via the driver."""
import math
import os
import time

import numpy as np
import pytest

from conftest import spin_until, wait_for
from helpers import box_corners, green_box, save_box_room
from nanorover_common.timeutil import from_time_msg
from nanorover_navigation.geometry import yaw_from_quaternion

pytestmark = pytest.mark.ros

FAST = {'lidar': False, 'camera': False}


def _stamp(msg):
    return from_time_msg(msg.header.stamp)


class Probe(object):
    """A test node: subscriptions that keep every message, a cmd_vel publisher."""

    def __init__(self, ctx, executor, use_sim_time=False):
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        self.node = Node('sim_probe', context=ctx, parameter_overrides=[
            Parameter('use_sim_time', Parameter.Type.BOOL, use_sim_time)])
        executor.add_node(self.node)
        self.msgs = {}

    def sub(self, msg_type, topic, qos):
        self.msgs[topic] = []
        self.node.create_subscription(msg_type, topic, self.msgs[topic].append, qos)

    def last(self, topic):
        return self.msgs[topic][-1] if self.msgs[topic] else None


def test_cmd_vel_moves_the_robot_as_the_kinematics_say(ros_context, executor, start_node):
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
    from std_msgs.msg import UInt32
    sim = start_node('nanorover_sim', 'sim_node', params=dict(
        FAST, world='room', realtime_factor=2.0, cmd_timeout=1.0, seed=4))
    probe = Probe(ros_context, executor)
    probe.sub(Odometry, 'sim/ground_truth', SENSOR_QOS)
    probe.sub(Odometry, 'odom', SENSOR_QOS)
    probe.sub(UInt32, 'sim/collisions', RELIABLE_QOS)
    pub = probe.node.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)
    cmd = Twist()

    def drive_until(pred, timeout=20.0, what=''):
        deadline = time.monotonic() + timeout
        while True:
            pub.publish(cmd)
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.01)
            value = pred()
            if value:
                return value
            assert sim.alive(), sim.output()
            assert time.monotonic() < deadline, 'timed out: %s\n%s' % (what, sim.output()[-2000:])

    truth = 'sim/ground_truth'
    spin_until(executor, lambda: probe.last(truth), 15.0, 'ground truth')
    start = probe.last(truth).pose.pose.position
    assert (start.x, start.y) == pytest.approx((1.0, 1.5))
    assert probe.last(truth).header.frame_id == 'world'

    # straight: once at speed, x grows by v * dt over >= 1 s of sim time
    cmd.linear.x = 0.2
    drive_until(lambda: abs(probe.last(truth).twist.twist.linear.x - 0.2) < 1e-6, what='v = 0.2')
    m0 = probe.last(truth)
    o0 = probe.last('odom')
    drive_until(lambda: _stamp(probe.last(truth)) > _stamp(m0) + 1.0, what='1 s of sim time')
    m1 = probe.last(truth)
    o1 = probe.last('odom')
    dt = _stamp(m1) - _stamp(m0)
    dx = m1.pose.pose.position.x - m0.pose.pose.position.x
    assert dx == pytest.approx(0.2 * dt, rel=1e-6, abs=1e-6)
    assert m1.pose.pose.position.y == pytest.approx(1.5, abs=1e-9)
    # odometry (frame odom -> base_footprint, starts at 0) drifts, but only by a few percent
    assert o1.header.frame_id == 'odom' and o1.child_frame_id == 'base_footprint'
    odx = o1.pose.pose.position.x - o0.pose.pose.position.x
    assert odx == pytest.approx(0.2 * (_stamp(o1) - _stamp(o0)), rel=0.08)
    assert odx != dx

    # turning on the spot: yaw grows by w * dt
    cmd.linear.x, cmd.angular.z = 0.0, 0.5
    drive_until(lambda: abs(probe.last(truth).twist.twist.angular.z - 0.5) < 1e-6, what='w = 0.5')
    m0 = probe.last(truth)
    drive_until(lambda: _stamp(probe.last(truth)) > _stamp(m0) + 1.0, what='1 s of turning')
    m1 = probe.last(truth)
    dyaw = (yaw_from_quaternion(m1.pose.pose.orientation) -
            yaw_from_quaternion(m0.pose.pose.orientation))
    assert dyaw == pytest.approx(0.5 * (_stamp(m1) - _stamp(m0)), rel=1e-6, abs=1e-6)

    # stale command: the robot stops by itself
    spin_until(executor, lambda: probe.last(truth).twist.twist.angular.z == 0.0, 15.0, 'stop')
    assert probe.last('sim/collisions').data == 0


def test_bad_world_is_a_clear_startup_error(start_node):
    sim = start_node('nanorover_sim', 'sim_node', params=dict(FAST, world='atlantis'))
    wait_for(lambda: not sim.alive(), 20.0, 'sim_node to exit')
    assert sim.proc.returncode == 1
    out = sim.output()
    assert 'atlantis' in out and 'room' in out   # names the bad value and the choices


def test_clock_drives_use_sim_time_nodes(ros_context, executor, start_node):
    from rosgraph_msgs.msg import Clock
    start_node('nanorover_sim', 'sim_node', params=dict(FAST, world='room',
                                                           realtime_factor=0.5))
    probe = Probe(ros_context, executor, use_sim_time=True)
    probe.sub(Clock, 'clock', 10)
    spin_until(executor, lambda: probe.msgs['clock'], 15.0, 'a clock message')
    wall0, first = time.monotonic(), probe.msgs['clock'][-1].clock
    spin_until(executor, lambda: len(probe.msgs['clock']) >= 40, 15.0, '40 clock messages')
    wall = time.monotonic() - wall0
    ticks = [m.clock.sec + m.clock.nanosec * 1e-9 for m in probe.msgs['clock']]
    assert all(b > a for a, b in zip(ticks, ticks[1:])), 'sim time must increase'
    # realtime factor 0.5: sim time never runs ahead of half the wall time (it may lag under load)
    sim = ticks[-1] - (first.sec + first.nanosec * 1e-9)
    assert 0.0 < sim <= 0.5 * wall + 0.1
    spin_until(executor, lambda: probe.node.get_clock().now().nanoseconds > 0, 5.0, 'sim time')
    now = probe.node.get_clock().now().nanoseconds * 1e-9
    latest = probe.msgs['clock'][-1].clock
    assert now == pytest.approx(latest.sec + latest.nanosec * 1e-9, abs=0.5)
    assert now < 3600.0 < time.time()   # sim time started at 0, not wall time


def test_realtime_factor_changes_live_and_bad_values_change_nothing(ros_context, executor,
                                                                    start_node):
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient
    from rosgraph_msgs.msg import Clock
    start_node('nanorover_sim', 'sim_node', params=dict(FAST, world='room',
                                                           realtime_factor=0.5))
    probe = Probe(ros_context, executor)
    probe.sub(Clock, 'clock', 10)
    client = AsyncParameterClient(probe.node, 'sim_node')
    spin_until(executor, lambda: client.services_are_ready(), 15.0, 'sim_node parameter services')

    def set_factor(value):
        fut = client.set_parameters([Parameter('realtime_factor', Parameter.Type.DOUBLE, value)])
        spin_until(executor, fut.done, 10.0, 'set_parameters response')
        return fut.result().results[0]

    def sim_rate(n=30):
        """sim seconds per wall second over the next n clock messages"""
        spin_until(executor, lambda: probe.msgs['clock'], 15.0, 'a clock message')
        start, wall0 = len(probe.msgs['clock']), time.monotonic()
        first = probe.msgs['clock'][-1].clock
        spin_until(executor, lambda: len(probe.msgs['clock']) >= start + n, 15.0,
                   '%d clock messages' % n)
        last = probe.msgs['clock'][-1].clock
        sim = (last.sec + last.nanosec * 1e-9) - (first.sec + first.nanosec * 1e-9)
        return sim / (time.monotonic() - wall0)

    rejected = set_factor(50.0)    # outside (0.05, 20): rejected with the reason
    assert not rejected.successful and 'realtime_factor' in rejected.reason
    assert 0.0 < sim_rate() <= 0.5 + 0.1   # the rejected value did not touch the pacing
    assert set_factor(0.2).successful
    assert 0.0 < sim_rate() <= 0.2 + 0.1


def test_camera_projects_a_known_object_where_the_intrinsics_say(ros_context, executor,
                                                                 start_node, tmp_path):
    from sensor_msgs.msg import CameraInfo, Image
    from nanorover_common.qos import SENSOR_QOS
    from nanorover_sim.diffdrive import load_robot_config
    world = save_box_room(tmp_path / 'green', width=6.0, height=4.0, start=(1.0, 2.0, 0.0),
                          objects=[green_box(3.0, 2.3)])
    start_node('nanorover_sim', 'sim_node', params=dict(
        world=world, lidar=False, camera=True, camera_noise=False))
    probe = Probe(ros_context, executor)
    probe.sub(Image, 'camera/image_raw', SENSOR_QOS)
    probe.sub(CameraInfo, 'camera/camera_info', SENSOR_QOS)
    spin_until(executor, lambda: probe.last('camera/image_raw') and
               probe.last('camera/camera_info'), 20.0, 'image + camera_info')
    img_msg, info = probe.last('camera/image_raw'), probe.last('camera/camera_info')
    assert img_msg.encoding == 'bgr8' and info.header.frame_id == 'camera_optical_frame'
    img = np.frombuffer(bytes(img_msg.data), np.uint8).reshape(img_msg.height, img_msg.width, 3)
    K = np.array(info.k).reshape(3, 3)
    cam = load_robot_config()['camera']
    assert (info.width, info.height) == (cam['width'], cam['height'])
    assert K[0, 0] == pytest.approx((cam['width'] / 2) / math.tan(cam['horizontal_fov'] / 2))
    # independent pinhole projection of the box's 8 corners (camera pitch 0 in robot.yaml)
    assert cam['pitch'] == 0.0
    cx_w, cy_w, cz = 1.0 + cam['x'], 2.0 + cam['y'], cam['z']
    us, vs = [], []
    for x, y, z in box_corners(3.0, 2.3):
        X, Y, Z = -(y - cy_w), -(z - cz), x - cx_w   # optical: right, down, forward
        us.append(K[0, 0] * X / Z + K[0, 2])
        vs.append(K[1, 1] * Y / Z + K[1, 2])
    g = img[:, :, 1].astype(int)
    green = (g > img[:, :, 0].astype(int) + 60) & (g > img[:, :, 2].astype(int) + 60)
    ys, xs = np.nonzero(green)
    assert xs.size > 200
    assert xs.min() == pytest.approx(min(us), abs=1.0)
    assert xs.max() == pytest.approx(max(us), abs=1.0)
    assert ys.max() == pytest.approx(max(vs), abs=1.0)
    assert ys.min() == pytest.approx(min(vs), abs=2.5)   # a tape band runs over the top


def _executable_exists(package, name):
    try:
        from conftest import executable
        executable(package, name)
        return True
    except Exception:
        return False


def test_lidar_through_the_real_driver_matches_the_world(ros_context, executor, start_node,
                                                         tmp_path):
    if not _executable_exists('ydlidar_g4', 'ydlidar_g4_node'):
        pytest.skip('ydlidar_g4 (G4 emulator + driver) is not installed: run make build')
    from sensor_msgs.msg import LaserScan
    from nanorover_common.qos import SENSOR_QOS
    from nanorover_sim.raycast import cast_rays
    from nanorover_sim.world import load_world
    link = str(tmp_path / 'g4')
    sim = start_node('nanorover_sim', 'sim_node', params=dict(
        world='room', camera=False, lidar_port_link=link, seed=2))
    wait_for(lambda: os.path.islink(link), 15.0, 'the lidar pty link')
    drv = start_node('ydlidar_g4', 'ydlidar_g4_node', params={'port': link})
    probe = Probe(ros_context, executor)
    probe.sub(LaserScan, 'scan', SENSOR_QOS)
    try:
        spin_until(executor, lambda: len(probe.msgs['scan']) >= 2, 30.0, 'two scans')
    except AssertionError:
        raise AssertionError('no scans\nsim:\n%s\ndriver:\n%s' % (sim.output()[-2000:],
                                                                  drv.output()[-2000:]))
    scan = probe.msgs['scan'][-1]
    assert scan.header.frame_id == 'laser_frame'
    r = np.array(scan.ranges, dtype=float)
    ang = scan.angle_min + scan.angle_increment * np.arange(r.size)

    def at(a):
        i = int(np.argmin(np.abs(np.angle(np.exp(1j * (ang - a))))))
        window = r[max(i - 2, 0):i + 3]
        window = window[np.isfinite(window) & (window > 0)]
        return float(np.median(window))
    # laser at (1.03, 1.5) in the room [0, 5] x [0, 4]: ahead, left, behind, right
    assert at(0.0) == pytest.approx(3.97, abs=0.05)
    assert at(math.pi / 2) == pytest.approx(2.5, abs=0.05)     # left (not mirrored: right is 1.5)
    assert at(-math.pi / 2) == pytest.approx(1.5, abs=0.05)
    assert at(math.pi - 1e-3) == pytest.approx(1.03, abs=0.05)
    # the whole scan against ray casting in the world (objects included)
    truth = cast_rays(load_world('room'), None, 1.03, 1.5, ang, 16.0)
    ok = np.isfinite(r) & (r > 0)
    assert ok.mean() > 0.85
    err = np.abs(r[ok] - truth[ok])
    assert np.median(err) < 0.02 and np.mean(err < 0.1) > 0.95
