"""ydlidar_g4_node as its own process <-> G4 emulator on a pty <-> subscriber over real DDS."""
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import spin_until, wait_for
from g4_worlds import box_world, emu  # noqa: F401 (emu is a fixture)
from ydlidar_g4 import protocol as P

pytestmark = pytest.mark.ros

BEAMS = 500
FREQ = 8.0


class Listener(object):
    def __init__(self, ros_context):
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.node import Node
        from sensor_msgs.msg import LaserScan
        from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
        self.node = Node('g4_test_listener', context=ros_context)
        self.scans = []
        self.diags = []
        self.node.create_subscription(LaserScan, 'scan', self._scan, SENSOR_QOS)
        self.node.create_subscription(DiagnosticArray, 'diagnostics', self.diags.append,
                                      RELIABLE_QOS)

    def _scan(self, msg):
        self.scans.append((msg, self.node.get_clock().now().nanoseconds * 1e-9))

    def call(self, executor, name):
        from std_srvs.srv import Trigger
        cli = self.node.create_client(Trigger, name)
        spin_until(executor, lambda: cli.service_is_ready(), 15, 'service ' + name)
        fut = cli.call_async(Trigger.Request())
        spin_until(executor, fut.done, 10, 'reply of ' + name)
        return fut.result()


def start_lidar(start_node, emu, params_file=None, **params):
    p = {'port': emu.port, 'frequency': FREQ, 'beams': BEAMS, 'silence_timeout': 1.0,
         'reconnect_backoff_initial': 0.1, 'reconnect_backoff_max': 0.5,
         'diagnostics_period': 0.5}
    p.update(params)
    return start_node('ydlidar_g4', 'ydlidar_g4_node', params=p, params_file=params_file)


def errors(proc):
    return [line for line in proc.output().splitlines() if line.startswith('[ERROR]')]


def test_scans_match_the_world_at_the_configured_rate(ros_context, executor, start_node, emu):
    proc = start_lidar(start_node, emu)
    lis = Listener(ros_context)
    executor.add_node(lis.node)
    spin_until(executor, lambda: len(lis.scans) >= 10, 30, '10 scans')
    assert emu.frequency_hz == pytest.approx(FREQ)             # set on the device
    msgs = [m for m, _ in lis.scans]
    assert all(len(m.ranges) == BEAMS for m in msgs)
    m = msgs[-1]
    assert m.header.frame_id == 'laser_frame'
    assert m.angle_min == pytest.approx(-math.pi) and m.angle_max == pytest.approx(math.pi)
    assert m.range_min == pytest.approx(0.28) and m.range_max == pytest.approx(16.0)
    assert m.scan_time == pytest.approx(1 / FREQ, rel=0.02)
    assert m.time_increment == pytest.approx(1 / 9000.0, rel=0.05)
    # rate: header stamps (back-dated per revolution) ~ 1 / FREQ apart
    stamps = np.array([x.header.stamp.sec + x.header.stamp.nanosec * 1e-9 for x in msgs])
    assert np.median(np.diff(stamps)) == pytest.approx(1 / FREQ, rel=0.15)
    # back-dated: the first ray was measured about one scan before the message arrived
    _, recv = lis.scans[-1]
    assert recv - stamps[-1] > 0.5 / FREQ
    # ranges vs the emulated world (REP 103: +90 deg = left, where the post is)
    ang = m.angle_min + np.arange(BEAMS) * m.angle_increment
    r = np.array(m.ranges)
    want = box_world(ang)
    assert np.mean(np.abs(r - want) < 0.03) > 0.95
    deg = np.degrees(ang)

    def sector(center):
        return r[np.abs(deg - center) < 3]
    assert np.allclose(sector(90), 0.6, atol=0.02)       # the post, left
    assert np.allclose(sector(-90), 1.5, atol=0.02)      # right wall
    assert np.allclose(sector(0), 1.5, atol=0.02)        # front wall
    assert np.allclose(r[np.abs(np.abs(deg) - 180) < 3], 2.5, atol=0.03)  # back wall
    # diagnostics
    spin_until(executor, lambda: any(
        {kv.key: kv.value for kv in d.status[0].values}.get('model') == 'G4'
        for d in lis.diags), 10, 'diagnostics with the device info')
    vals = {kv.key: kv.value for kv in lis.diags[-1].status[0].values}
    assert vals['serial'] == '2021101000070073' and vals['firmware'] == '3.2'
    assert float(vals['measured_hz']) == pytest.approx(FREQ, abs=0.1)
    assert vals['health'] == 'ok' and vals['reconnects'] == '0'
    # stop / start services; a deliberate stop is quiet
    assert lis.call(executor, 'stop_scan').success
    wait_for(lambda: not emu.scanning, 10, 'device stopped')
    n = len(lis.scans)
    spin_until(executor, lambda: any(d.status[0].message == 'stopped on request'
                                     for d in lis.diags[-2:]), 10, 'stopped diagnostics')
    spin_until(executor, lambda: False if emu.scanning else
               sum(1 for d in lis.diags if d.status[0].message == 'stopped on request') >= 4,
               10, 'stopped for longer than the silence timeout')
    assert len(lis.scans) <= n + 1
    assert lis.call(executor, 'start_scan').success
    spin_until(executor, lambda: len(lis.scans) >= n + 3, 20, 'scans after start_scan')
    assert errors(proc) == []
    proc.stop_expect(0)
    wait_for(lambda: emu.commands[-1] == P.CMD_STOP and not emu.scanning, 10,
             'stop sent on shutdown')


def test_unplug_silence_and_health_error_recover_with_one_error_each(
        ros_context, executor, start_node, emu):
    proc = start_lidar(start_node, emu)
    lis = Listener(ros_context)
    executor.add_node(lis.node)
    spin_until(executor, lambda: len(lis.scans) >= 2, 30, 'scans')

    # unplug / replug
    emu.unplug()
    spin_until(executor, lambda: len(errors(proc)) >= 1, 15, 'unplug error')
    n = len(lis.scans)
    emu.replug()
    spin_until(executor, lambda: len(lis.scans) >= n + 3, 30, 'scans after replug')
    assert len(errors(proc)) == 1 and 'unplugged' in errors(proc)[0]

    # a silent device
    health0 = emu.commands.count(P.CMD_HEALTH)
    emu.inject(silent=True)
    spin_until(executor, lambda: emu.commands.count(P.CMD_HEALTH) >= health0 + 3, 30,
               'reconnect attempts to the silent device')
    errs = errors(proc)
    assert len(errs) == 2 and 'silent' in errs[1], errs
    n = len(lis.scans)
    emu.inject(silent=False)
    spin_until(executor, lambda: len(lis.scans) >= n + 3, 30, 'scans after silence')

    # a health error (seen when the device comes back)
    emu.inject(health_error=True)
    emu.unplug()
    emu.replug()
    health0 = emu.commands.count(P.CMD_HEALTH)
    spin_until(executor, lambda: emu.commands.count(P.CMD_HEALTH) >= health0 + 3, 30,
               'repeated health checks')
    errs = errors(proc)
    health_errs = [e for e in errs if 'health error' in e]
    assert len(health_errs) == 1 and '0x0002' in health_errs[0], errs
    spin_until(executor, lambda: any(d.status[0].level == b'\x02' and
                                     'health' in d.status[0].message for d in lis.diags[-3:]),
               10, 'health error in diagnostics')
    n = len(lis.scans)
    emu.inject(health_error=False)
    spin_until(executor, lambda: len(lis.scans) >= n + 3, 30, 'scans after the health error')
    assert all(len(m.ranges) == BEAMS for m, _ in lis.scans)
    assert len(errors(proc)) == len(errs)
    spin_until(executor, lambda: int({kv.key: kv.value for kv in lis.diags[-1].status[0].values}
                                     ['reconnects']) >= 3, 10, 'reconnects in diagnostics')


@pytest.mark.parametrize('params,reason', [
    ({'frequency': 20.0}, 'frequency out of range Min: 5.0, Max: 12.0'),
    ({'sample_rate': 5}, 'sample_rate=5 is not one of 4, 8, 9'),
    ({'ignore_array': '10,5'}, 'ignore_array'),
    ({'angle_min': 90.0, 'angle_max': -90.0}, 'angle_min'),
])
def test_bad_parameter_is_rejected_with_the_reason(start_node, emu, params, reason):
    proc = start_lidar(start_node, emu, **params)
    wait_for(lambda: not proc.alive(), 20, 'node exit')
    assert proc.proc.returncode == 1
    out = proc.output()
    assert reason in out, out
    assert not emu.scanning


def test_stamps_follow_the_node_clock_under_use_sim_time(ros_context, executor, start_node,
                                                         emu):
    from rosgraph_msgs.msg import Clock
    from nanorover_common.timeutil import to_time_msg
    import time
    # also proves the shipped parameter file loads (types match the declarations)
    config = Path(__file__).resolve().parents[2] / 'config' / 'ydlidar_g4.yaml'
    proc = start_lidar(start_node, emu, params_file=config, use_sim_time=True)
    lis = Listener(ros_context)
    clock_pub = lis.node.create_publisher(Clock, 'clock', 10)
    t0 = time.monotonic()

    def tick():
        clock_pub.publish(Clock(clock=to_time_msg(1000.0 + time.monotonic() - t0)))
    lis.node.create_timer(0.01, tick)
    executor.add_node(lis.node)

    def stamp(m):
        return m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
    spin_until(executor, lambda: sum(1 for m, _ in lis.scans if stamp(m) > 1000.0) >= 3, 30,
               'scans stamped in sim time')
    m = [m for m, _ in lis.scans if stamp(m) > 1000.0][-1]
    now = 1000.0 + time.monotonic() - t0
    assert now - 2.0 < stamp(m) < now - 0.05        # back-dated by about a revolution
    assert errors(proc) == []
