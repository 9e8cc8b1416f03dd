"""ydlidar_g4_node: YDLIDAR G4 -> sensor_msgs/LaserScan on ``scan`` (thin rclpy layer).

Publishes ``scan`` (SensorDataQoS) and ``diagnostics``; services ``start_scan`` / ``stop_scan``
(std_srvs/Trigger). The protocol, driver and scan building are ROS-free (protocol.py, driver.py,
scan_builder.py).
"""
import array
import time

from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.node import Node
from sensor_msgs.msg import LaserScan
from std_srvs.srv import Trigger

from nanorover_common.diagnostics import DiagnosticsPublisher, make_status
from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import SENSOR_QOS
from nanorover_common.timeutil import to_time_msg
from ydlidar_g4.driver import G4Driver
from ydlidar_g4.scan_builder import ScanBuilder, ScanConfig, parse_ignore_array


def _ignore_reason(value):
    try:
        parse_ignore_array(value)
    except ValueError as exc:
        return str(exc)
    return None


SPECS = [
    Param('port', '/dev/ydlidar', 'serial device of the lidar (udev symlink)', read_only=True),
    Param('baudrate', 230400, 'serial baud rate (the G4 uses 230400)',
          choices=(115200, 128000, 153600, 230400, 512000), read_only=True),
    Param('frame_id', 'laser_frame', 'frame of the published scans', read_only=True),
    Param('frequency', 10.0, 'scan (rotation) frequency [Hz]', range=(5.0, 12.0),
          read_only=True),
    Param('sample_rate', 9, 'sample rate [kHz]', choices=(4, 8, 9), read_only=True),
    Param('angle_min', -180.0, 'first beam angle [deg], laser frame, CCW',
          range=(-180.0, 180.0), read_only=True),
    Param('angle_max', 180.0, 'last beam angle [deg], laser frame, CCW',
          range=(-180.0, 180.0), read_only=True),
    Param('range_min', 0.0, 'minimum valid range [m]; 0 = from the sample rate '
          '(9/8/4 kHz: 0.28/0.26/0.10 m)', range=(0.0, 64.0), read_only=True),
    Param('range_max', 0.0, 'maximum valid range [m]; 0 = 16 m', range=(0.0, 64.0),
          read_only=True),
    Param('beams', 720, 'fixed number of beams per scan (slam_toolbox needs a constant count)',
          range=(10, 10000), read_only=True),
    Param('inverted', True, 'device angles are clockwise: map a -> 360 - a (true for a G4)',
          read_only=True),
    Param('reversion', True, 'add 180 deg (the G4 zero points backwards; true for a G4)',
          read_only=True),
    Param('ignore_array', '', 'sectors to drop, "lo,hi[,lo,hi...]" in degrees (laser frame)',
          validator=_ignore_reason, read_only=True),
    Param('invalid_range_is_inf', True, 'beams without a valid return are +inf (REP 117), '
          'else 0', read_only=True),
    Param('silence_timeout', 2.0, 'no bytes for this long [s] = silent device, reconnect',
          range=(0.2, 60.0), read_only=True),
    Param('reconnect_backoff_initial', 0.5, 'first reconnect delay [s] (doubles each failure)',
          range=(0.05, 60.0), read_only=True),
    Param('reconnect_backoff_max', 8.0, 'longest reconnect delay [s]', range=(0.1, 600.0),
          read_only=True),
    Param('diagnostics_period', 1.0, 'diagnostics publishing period [s]', range=(0.1, 60.0),
          read_only=True),
]


class G4Node(Node):
    def __init__(self):
        Node.__init__(self, 'ydlidar_g4_node')
        p = self.params = declare_parameters(self, SPECS)
        try:
            cfg = ScanConfig(angle_min_deg=p['angle_min'], angle_max_deg=p['angle_max'],
                             beams=p['beams'], range_min=p['range_min'],
                             range_max=p['range_max'], sample_rate_khz=p['sample_rate'],
                             inverted=p['inverted'], reversion=p['reversion'],
                             ignore_array=p['ignore_array'],
                             invalid_range_is_inf=p['invalid_range_is_inf'])
        except ValueError as exc:
            raise StartupError('invalid parameter: %s' % exc)
        if p['reconnect_backoff_max'] < p['reconnect_backoff_initial']:
            raise StartupError('invalid parameter: reconnect_backoff_max (%g) < '
                               'reconnect_backoff_initial (%g)' % (
                                   p['reconnect_backoff_max'], p['reconnect_backoff_initial']))
        self.builder = ScanBuilder(cfg)
        self.frame_id = p['frame_id']
        self.scans_published = 0
        self.scan_pub = self.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.create_service(Trigger, 'start_scan', self._start_scan)
        self.create_service(Trigger, 'stop_scan', self._stop_scan)
        self.driver = G4Driver(
            p['port'], baudrate=p['baudrate'], frequency=p['frequency'],
            sample_rate=p['sample_rate'], on_revolution=self._on_revolution,
            logger=self.get_logger(), silence_timeout=p['silence_timeout'],
            backoff_initial=p['reconnect_backoff_initial'],
            backoff_max=p['reconnect_backoff_max'])
        self.diagnostics = DiagnosticsPublisher(self, p['diagnostics_period'],
                                                self.diagnostic_status)
        self._last_stamp = None
        self.driver.start()

    def close(self):
        self.driver.close()

    # --- driver thread ----------------------------------------------------------------------
    def _on_revolution(self, rev):
        hz = self.driver.measured_hz or self.params['frequency']
        scan = self.builder.build(rev, hz)
        # back-date to the first ray; measured on the monotonic clock, applied to the node clock
        # (sim time under use_sim_time)
        age = (time.monotonic() - rev.t_end) + scan.first_ray_age
        now = self.get_clock().now().nanoseconds * 1e-9
        stamp = now - age
        # Reads arrive in bursts under load (and sim time advances in steps), which can put a
        # revolution's estimate before the previous one's; scans must stay in time order for
        # SLAM, so such a stamp is moved to one scan period after the previous one.
        last = self._last_stamp
        if last is not None and last - 1.0 < stamp <= last:
            stamp = min(last + max(scan.scan_time, 1e-3), now)
        self._last_stamp = stamp
        msg = LaserScan()
        msg.header.frame_id = self.frame_id
        msg.header.stamp = to_time_msg(stamp)
        msg.angle_min = scan.angle_min
        msg.angle_max = scan.angle_max
        msg.angle_increment = scan.angle_increment
        msg.time_increment = scan.time_increment
        msg.scan_time = scan.scan_time
        msg.range_min = scan.range_min
        msg.range_max = scan.range_max
        msg.ranges = array.array('f', scan.ranges.tobytes())
        self.scan_pub.publish(msg)
        self.scans_published += 1

    # --- services ---------------------------------------------------------------------------
    def _start_scan(self, request, response):
        self.driver.resume()
        response.success = True
        response.message = 'scanning (re)started'
        return response

    def _stop_scan(self, request, response):
        self.driver.pause()
        response.success = True
        response.message = 'scanning stopped (motor stop sent)'
        return response

    # --- diagnostics -------------------------------------------------------------------------
    def diagnostic_status(self):
        s = self.driver.status()
        info = s['device_info'] or {}
        health = s['health'] or {}
        if s['error']:
            level, message = DiagnosticStatus.ERROR, s['error']
        elif s['state'] == 'stopped':
            level, message = DiagnosticStatus.OK, 'stopped on request'
        elif s['state'] != 'scanning':
            level, message = DiagnosticStatus.WARN, s['state']
        elif health and health['status'] == 1:
            level, message = DiagnosticStatus.WARN, 'health warning'
        else:
            level, message = DiagnosticStatus.OK, 'scanning'
        values = [
            ('state', s['state']),
            ('health', health.get('status_name', 'unknown')),
            ('health_error_code', '0x%04X' % health.get('error_code', 0)),
            ('model', info.get('model_name', '')),
            ('firmware', info.get('firmware', '')),
            ('hardware', info.get('hardware', '')),
            ('serial', info.get('serial', '')),
            ('sample_rate_khz', s['sample_rate_khz']),
            ('frequency_set_hz', s['frequency_set_hz']),
            ('measured_hz', '%.2f' % s['measured_hz']),
            ('scans_published', self.scans_published),
            ('checksum_errors', s['checksum_errors']),
            ('resyncs', s['resyncs']),
            ('bytes_dropped', s['bytes_dropped']),
            ('reconnects', s['reconnects']),
        ]
        return make_status('ydlidar_g4: %s' % s['port'], level, message,
                           hardware_id='YDLIDAR %s %s' % (info.get('model_name', '?'),
                                                          info.get('serial', '?')),
                           values=values)


def main(args=None):
    return run_node(G4Node, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
