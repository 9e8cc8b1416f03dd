"""base_node as its own process over real DDS against the pty motor-controller emulator."""
import math
from pathlib import Path

import pytest

from conftest import spin_until, wait_for
from nanorover_base import protocol as P
from nanorover_base.emulator import MotorControllerEmulator
from nanorover_base.kinematics import DiffDrive, load_robot_config

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'config' / 'robot.yaml')
ROBOT = load_robot_config(CONFIG)


def _emulator(autonomous):
    return MotorControllerEmulator(ticks_per_rev=ROBOT['encoder_ticks_per_rev'], watchdog=0.5,
                                   autonomous=autonomous).start()


@pytest.fixture
def emu():
    e = _emulator(True)
    yield e
    e.close()


@pytest.fixture
def manual_emu():
    """No periodic ENCODER/BATTERY frames: the test plays the firmware."""
    e = _emulator(False)
    yield e
    e.close()


@pytest.fixture
def base(start_node):
    def _start(emu, **params):
        p = {'port': emu.port, 'robot_config': CONFIG, 'diagnostics_period': 0.2}
        p.update(params)
        return start_node('nanorover_base', 'base_node', params=p)
    return _start


def _io(ros_context):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.node import Node
    from sensor_msgs.msg import BatteryState

    from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
    node = Node('base_test', context=ros_context)
    got = {'odom': [], 'battery': [], 'diagnostics': []}
    node.create_subscription(Odometry, 'odom', got['odom'].append, SENSOR_QOS)
    node.create_subscription(BatteryState, 'battery', got['battery'].append, RELIABLE_QOS)
    node.create_subscription(DiagnosticArray, 'diagnostics', got['diagnostics'].append,
                             RELIABLE_QOS)
    pub = node.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)

    def send(v, w):
        msg = Twist()
        msg.linear.x, msg.angular.z = float(v), float(w)
        pub.publish(msg)
    return node, got, send


def test_cmd_vel_becomes_wheel_commands_and_odom(ros_context, executor, emu, base):
    proc = base(emu)
    node, got, send = _io(ros_context)
    executor.add_node(node)
    v, w = 0.2, 0.5
    expected = DiffDrive(ROBOT).wheel_speeds(v, w)

    def commanded():
        send(v, w)
        cmds = emu.wheel_commands()
        return cmds and cmds[-1][1:] == pytest.approx(expected, abs=1.5e-3)
    spin_until(executor, commanded, 20.0, 'WHEEL_CMD with the wheel speeds of cmd_vel')
    # the ramp: no command ever exceeded the target, and between consecutive frames a wheel's
    # speed never changed faster than the acceleration limits allow (the node limits by the
    # measured control period, so a late control tick may take a larger step; 20 ms of
    # frame-timing jitter allowed)
    cmds = emu.wheel_commands()
    speeds = [c[2] for c in cmds]
    assert max(speeds) <= expected[1] + 1e-3
    wheel_accel = (ROBOT['max_linear_accel'] + ROBOT['max_angular_accel'] * ROBOT['wheel_base'] /
                   2.0) / ROBOT['wheel_radius']
    for (t0, l0, r0), (t1, l1, r1) in zip(cmds, cmds[1:]):
        bound = wheel_accel * (t1 - t0 + 0.02) + 2e-3
        assert abs(l1 - l0) <= bound and abs(r1 - r0) <= bound, (t1 - t0, l0, l1, r0, r1)
    # the emulator integrates those speeds: odom reports the commanded twist
    n0 = len(got['odom'])
    spin_until(executor, lambda: send(v, w) or len(got['odom']) > n0 + 25, 20.0, 'odom')
    last = got['odom'][-1]
    assert last.header.frame_id == 'odom' and last.child_frame_id == 'base_footprint'
    assert last.twist.twist.linear.x == pytest.approx(v, abs=0.03)
    assert last.twist.twist.angular.z == pytest.approx(w, abs=0.1)
    assert last.pose.pose.position.x > 0.0
    spin_until(executor, lambda: got['battery'], 10.0, 'battery')
    assert got['battery'][-1].voltage == pytest.approx(emu.battery_mv / 1000.0)
    assert got['battery'][-1].percentage == pytest.approx(emu.battery_pct / 100.0)
    assert proc.alive()
    proc.stop_expect(0)
    # a clean shutdown sends STOP
    wait_for(lambda: any(f.type == P.STOP for _, f in emu.received), 10.0, 'STOP frame')


def test_encoder_frames_give_odom_of_the_kinematics(ros_context, executor, manual_emu, base):
    emu = manual_emu
    base(emu)
    node, got, _ = _io(ros_context)
    executor.add_node(node)
    tpr = ROBOT['encoder_ticks_per_rev']
    per_m = tpr / (2 * math.pi * ROBOT['wheel_radius'])
    quarter = int(round(ROBOT['wheel_base'] / 2 * math.pi / 2 * per_m))
    n = int(round(0.5 * per_m))
    stamp = [0]

    def standing_still():           # odom of a robot standing still, until it arrives here
        stamp[0] += 100000
        emu.send(P.ENCODER, 0, 0, stamp[0])
        return got['odom']
    spin_until(executor, standing_still, 20.0, 'first odom')
    t0 = stamp[0]
    n0 = len(got['odom'])
    for left, right, t in [(n, n, 1000000), (n - quarter, n + quarter, 2000000),
                           (2 * n - quarter, 2 * n + quarter, 3000000)]:
        emu.send(P.ENCODER, left, right, t0 + t)

    def at_goal():                  # the standing-still frames still in flight come first
        p = got['odom'][-1].pose.pose.position
        return len(got['odom']) >= n0 + 3 and abs(p.x - 0.5) < 0.01 and abs(p.y - 0.5) < 0.01
    spin_until(executor, at_goal, 20.0, 'odom at (0.5, 0.5) after straight, turn, straight')
    p = got['odom'][-1].pose.pose
    yaw = 2 * math.atan2(p.orientation.z, p.orientation.w)
    assert yaw == pytest.approx(math.pi / 2, abs=0.01)


def test_cmd_vel_timeout_stops_the_motors(ros_context, executor, emu, base):
    base(emu, cmd_timeout=0.3)
    node, got, send = _io(ros_context)
    executor.add_node(node)
    spin_until(executor, lambda: send(0.3, 0.0) or (emu.wheel_commands()
               and emu.wheel_commands()[-1][1] > 5.0), 20.0, 'driving')
    n_moving = len(emu.wheel_commands())
    # no more cmd_vel: the node must command zero by itself (and keep the firmware watchdog fed)
    spin_until(executor, lambda: [c for c in emu.wheel_commands()[n_moving:] if c[1:] == (0, 0)],
               20.0, 'zero wheel command after the timeout')
    assert emu.watchdog_trips == 0
    spin_until(executor, lambda: any(kv.key == 'cmd_timeouts' and int(kv.value) >= 1
                                     for d in got['diagnostics'] for s in d.status
                                     for kv in s.values), 10.0, 'cmd_timeouts in diagnostics')


def test_corrupted_frames_are_rejected_and_counted(ros_context, executor, manual_emu, base):
    emu = manual_emu
    proc = base(emu)
    node, got, _ = _io(ros_context)
    executor.add_node(node)
    spin_until(executor, lambda: emu.wheel_commands(), 20.0, 'base_node running')
    bad = bytearray(P.encode(P.BATTERY, 9000, 10))
    bad[5] ^= 0xFF

    def garbage_then_good():        # repeated until the subscription is matched
        emu.inject(b'\xa5\x5a\xff\x00noise' + bytes(bad) + b'\xa5\x5a\x81\x40'
                   + P.encode(P.BATTERY, 11111, 66))
        return got['battery']
    spin_until(executor, garbage_then_good, 20.0, 'battery after the garbage')
    assert {round(b.voltage, 3) for b in got['battery']} == {11.111}     # corrupted ones lost

    def counted():
        for d in got['diagnostics']:
            for s in d.status:
                kv = dict((k.key, k.value) for k in s.values)
                if int(kv.get('crc_errors', 0)) >= 1 and int(kv.get('bad_length', 0)) >= 1:
                    return s
    status = spin_until(executor, counted, 10.0, 'crc_errors and bad_length in diagnostics')
    assert 'corrupted' in status.message
    assert proc.alive()


def test_reconnects_after_the_controller_disappears(ros_context, executor, start_node,
                                                    tmp_path):
    """USB re-plug / MCU reset: the node keeps running, reopens the port (a udev-style link)
    and odom continues from the pose it had."""
    link = str(tmp_path / 'nanorover_base')
    first = MotorControllerEmulator(ticks_per_rev=ROBOT['encoder_ticks_per_rev'], link=link)
    first.start()
    proc = start_node('nanorover_base', 'base_node',
                      params={'port': link, 'robot_config': CONFIG, 'diagnostics_period': 0.2})
    node, got, send = _io(ros_context)
    executor.add_node(node)
    try:
        spin_until(executor, lambda: send(0.3, 0.0) or (
            got['odom'] and got['odom'][-1].pose.pose.position.x > 0.05), 20.0, 'driving')
    finally:
        first.close()                                  # unplugged
    x_before = got['odom'][-1].pose.pose.position.x
    spin_until(executor, lambda: any(s.message.startswith('link lost') for d in got['diagnostics']
                                     for s in d.status), 20.0, 'link lost in diagnostics')
    second = MotorControllerEmulator(ticks_per_rev=ROBOT['encoder_ticks_per_rev'], link=link)
    second.start()                                     # plugged in again, counters from 0
    try:
        spin_until(executor, lambda: send(0.3, 0.0) or second.wheel_commands(), 20.0,
                   'commands on the new port')
        n = len(got['odom'])
        spin_until(executor, lambda: send(0.3, 0.0) or len(got['odom']) > n + 10, 20.0,
                   'odom again')
        # no jump from the restarted counters: the pose continues from where it was
        xs = [o.pose.pose.position.x for o in got['odom'][n:]]
        assert min(xs) >= x_before - 0.01 and max(xs) < x_before + 1.0
        assert proc.alive()
    finally:
        second.close()


def test_unopenable_port_exits_with_the_reason(start_node, tmp_path):
    proc = start_node('nanorover_base', 'base_node',
                      params={'port': str(tmp_path / 'nope'), 'robot_config': CONFIG})
    wait_for(lambda: not proc.alive(), 20.0, 'base_node to exit')
    out = proc.output()
    proc.stop_expect(1)
    assert 'cannot open motor controller port' in out


def test_missing_robot_config_exits_with_the_reason(start_node, emu, tmp_path):
    proc = start_node('nanorover_base', 'base_node',
                      params={'port': emu.port, 'robot_config': str(tmp_path / 'r.yaml')})
    wait_for(lambda: not proc.alive(), 20.0, 'base_node to exit')
    out = proc.output()
    proc.stop_expect(1)
    assert 'robot config' in out and 'not found' in out
