#!/usr/bin/env python3
"""YDLIDAR G4: parser throughput and driver-node CPU share, each beside PyLidar3 in the same run.

1. Parser: the same emulated 9 kHz byte stream (a room, 10 Hz) decoded by
   ydlidar_g4.protocol.PacketParser and by PyLidar3's YdLidarG4 (its serial object replaced by
   an in-memory reader, its sleeps removed); samples/s of CPU time per core.
2. Live: a G4 emulator on a pty streaming 9 kHz; ydlidar_g4_node (own process, publishing
   LaserScan to a subscriber here) and then PyLidar3 (own process, reading the same pty stream
   through pyserial) each for a few seconds; CPU share of one core from /proc/<pid>/stat.

Figures are measured, not asserted (targets: >= 1 M samples/s, >= 20x PyLidar3).
Needs the ROS environment of `make bench` for part 2 (skipped with a note otherwise).
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from procstat import proc_cpu_seconds
from ydlidar_g4 import protocol as P
from ydlidar_g4.emulator import G4Emulator

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 90 + 5))
LIVE_SECONDS = 6.0


def room(theta, t=0.0):
    c, s = np.cos(theta), np.abs(np.sin(theta))
    with np.errstate(divide='ignore', invalid='ignore'):
        rx = np.where(c > 1e-9, 3.0 / c, np.where(c < -1e-9, -2.0 / c, np.inf))
        ry = np.where(s > 1e-9, 2.5 / s, np.inf)
    return np.minimum(rx, ry)


# --- 1. parser throughput ------------------------------------------------------------------------
def bench_ours(stream, chunk):
    best = None
    for _ in range(3):
        p = P.PacketParser()
        t0 = time.process_time()
        for i in range(0, len(stream), chunk):
            p.feed(stream[i:i + chunk])
        dt = time.process_time() - t0
        rate = p.stats.samples / dt
        best = rate if best is None else max(best, rate)
    return best, p.stats.samples


class _MemorySerial(object):
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n):
        if self.pos >= len(self.data):
            raise EOFError
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def write(self, data):
        return len(data)

    def reset_input_buffer(self):
        pass


def bench_pylidar3(stream):
    import PyLidar3
    PyLidar3.sleep = lambda s: None
    counted = [0]
    orig = PyLidar3.YdLidarX4._Calculate.__func__

    def counting(cls, d):
        out = orig(cls, d)
        counted[0] += len(out)
        return out
    PyLidar3.YdLidarX4._Calculate = classmethod(counting)
    lidar = PyLidar3.YdLidarG4('/dev/null')
    lidar._s = _MemorySerial(P.DESC_SCAN.encode() + stream)
    lidar._is_connected = True
    t0 = time.process_time()
    try:
        for _ in lidar.StartScanning():
            pass
    except EOFError:
        pass
    dt = time.process_time() - t0
    PyLidar3.YdLidarX4._Calculate = classmethod(orig)
    return counted[0] / dt, counted[0]


# --- 2. live CPU share --------------------------------------------------------------------------
def measure_cpu(proc, seconds):
    c0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
    time.sleep(seconds)
    return (proc_cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)


PYLIDAR3_CHILD = r'''
import sys, PyLidar3
lidar = PyLidar3.YdLidarG4(sys.argv[1])
if not lidar.Connect():
    sys.exit('PyLidar3 could not connect')
n = 0
for scan in lidar.StartScanning():
    n += 1
    if n == 1:
        print('PyLidar3 first scan', flush=True)
'''


def live_node(emu):
    try:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import LaserScan
        from ament_index_python.packages import get_package_prefix
        exe = os.path.join(get_package_prefix('ydlidar_g4'), 'lib', 'ydlidar_g4',
                           'ydlidar_g4_node')
    except Exception as exc:  # pragma: no cover
        print('node CPU: skipped (no ROS environment: %s)' % exc)
        return None
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=int(os.environ['ROS_DOMAIN_ID']))
    node = rclpy.create_node('bench_lidar_listener', context=ctx)
    from rclpy.qos import qos_profile_sensor_data
    got = []
    node.create_subscription(LaserScan, 'scan', lambda m: got.append(len(m.ranges)),
                             qos_profile_sensor_data)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    th = threading.Thread(target=ex.spin, daemon=True)
    th.start()
    proc = subprocess.Popen([exe, '--ros-args', '-p', 'port:=%s' % emu.port, '-p',
                             'frequency:=10.0', '-p', 'sample_rate:=9'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(got) < 5:
            print('node CPU: no scans received')
            return None
        n0 = len(got)
        share = measure_cpu(proc, LIVE_SECONDS)
        rate = (len(got) - n0) / LIVE_SECONDS
        return share, rate
    finally:
        proc.send_signal(2)
        proc.wait(10)
        ex.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def live_pylidar3(emu):
    proc = subprocess.Popen([sys.executable, '-c', PYLIDAR3_CHILD, emu.port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    try:
        line = proc.stdout.readline()   # Connect() sleeps 3.5 s, StartScanning 0.5 s
        if 'first scan' not in line:
            print('PyLidar3 live: failed: %s' % line.strip())
            return None
        return measure_cpu(proc, LIVE_SECONDS)
    finally:
        proc.kill()
        proc.wait(5)


def main():
    emu = G4Emulator(room, sample_rate_khz=9, frequency_hz=10.0, seed=1)
    stream = emu.render(20.0)              # 20 s of 9 kHz = 180 000 samples
    print('stream: %d bytes, %d samples (9 kHz, 10 Hz, %d samples/packet)' % (
        len(stream), 20 * 9000, emu.packet_samples))
    ours_4k, n_ours = bench_ours(stream, 4096)
    ours_6k, _ = bench_ours(stream, 6000)
    ours_64k, _ = bench_ours(stream, 65536)
    py_rate, n_py = bench_pylidar3(stream)
    print('parser, ydlidar_g4 (4 KiB feeds):  %10.0f samples/s per core (%d samples decoded)'
          % (ours_4k, n_ours))
    print('parser, ydlidar_g4 (6000 B feeds): %10.0f samples/s per core (PyLidar3 reads 6000 B)'
          % ours_6k)
    print('parser, ydlidar_g4 (64 KiB feeds): %10.0f samples/s per core' % ours_64k)
    print('parser, PyLidar3 YdLidarG4:        %10.0f samples/s per core (%d samples decoded)'
          % (py_rate, n_py))
    print('RATIO parser ydlidar_g4 / PyLidar3 = %.1fx (same 6000 B chunks; 4 KiB: %.1fx, '
          '64 KiB: %.1fx); target >= 20x; >= 1 M samples/s: %s' % (
              ours_6k / py_rate, ours_4k / py_rate, ours_64k / py_rate,
              'yes' if ours_4k >= 1e6 else 'NO'))

    with tempfile.TemporaryDirectory() as tmp:
        emu = G4Emulator(room, sample_rate_khz=9, frequency_hz=10.0,
                         link_path=os.path.join(tmp, 'ydlidar')).start()
        try:
            node = live_node(emu)
            emu.stop()
            emu = G4Emulator(room, sample_rate_khz=9, frequency_hz=10.0,
                             link_path=os.path.join(tmp, 'ydlidar')).start()
            py = live_pylidar3(emu)
        finally:
            emu.stop()
    if node:
        print('live 9 kHz, ydlidar_g4_node: %.1f %% of a core (publishing %.1f scans/s of 720 '
              'beams)' % (100 * node[0], node[1]))
    if py is not None:
        print('live 9 kHz, PyLidar3 reader: %.1f %% of a core (no ROS, 360 bins)' % (100 * py))
    if node and py:
        print('RATIO CPU PyLidar3 / ydlidar_g4_node = %.1fx' % (py / max(node[0], 1e-6)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
