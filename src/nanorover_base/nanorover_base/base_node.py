"""base_node: cmd_vel -> motor microcontroller (serial), encoders -> odom, battery, diagnostics.

Subscribes ``cmd_vel`` (geometry_msgs/Twist). Publishes ``odom`` (nav_msgs/Odometry, odom ->
base_footprint), ``battery`` (sensor_msgs/BatteryState), ``diagnostics``; broadcasts TF odom ->
base_footprint only when ``tf2_ros`` is importable (it is not on the pip path).

Every ``1/control_rate`` s the node sends WHEEL_CMD with the latest cmd_vel after the velocity and
acceleration limits of config/robot.yaml; that frame also feeds the firmware watchdog. When no
cmd_vel arrived for ``cmd_timeout`` s the target becomes zero (the ramp still applies, up to the
firmware's own watchdog). Frames from the MCU are read by a thread; corrupted bytes are counted
(diagnostics) and skipped. Python 3.6 compatible.
"""
import math
import threading
import time

import serial
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry as OdometryMsg
from rclpy.node import Node
from sensor_msgs.msg import BatteryState

from nanorover_base import protocol
from nanorover_base.kinematics import (ConfigError, DiffDrive, Odometry, load_robot_config)
from nanorover_common.diagnostics import DiagnosticsPublisher, make_status
from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS

try:
    import tf2_ros
    from geometry_msgs.msg import TransformStamped
except ImportError:   # pip path: no tf2_ros
    tf2_ros = None

SPECS = [
    Param('port', '/dev/nanorover_base', 'serial device of the motor microcontroller',
          read_only=True),
    Param('baudrate', 115200, 'serial baud rate', choices=(57600, 115200, 230400, 460800),
          read_only=True),
    Param('robot_config', '', 'path of config/robot.yaml (wheel geometry, limits); empty: '
          '<share of nanorover_bringup>/config/robot.yaml', read_only=True),
    Param('control_rate', 20.0, 'rate of WHEEL_CMD frames [Hz]', range=(2.0, 100.0),
          read_only=True),
    Param('cmd_timeout', 0.5, 'stop the motors when cmd_vel is older than this [s]',
          range=(0.05, 5.0)),
    Param('odom_frame', 'odom', 'frame_id of odom'),
    Param('base_frame', 'base_footprint', 'child_frame_id of odom'),
    Param('publish_tf', True, 'broadcast odom -> base_footprint (only when tf2_ros exists)'),
    Param('diagnostics_period', 1.0, 'diagnostics publishing period [s]', range=(0.1, 10.0),
          read_only=True),
    Param('battery_low_pct', 20, 'battery charge below which diagnostics warn [%]',
          range=(0, 100)),
]


def _diagonal_6x6(diagonal):
    cov = [0.0] * 36
    for i, c in enumerate(diagonal):
        cov[i * 7] = c
    return cov


# odom pose/twist covariance of a planar robot: x, y, yaw uncertain; z, roll, pitch fixed
# (large value = unused)
ODOM_COVARIANCE = _diagonal_6x6((1e-3, 1e-3, 1e6, 1e6, 1e6, 1e-2))


class BaseNode(Node):

    def __init__(self):
        super().__init__('base_node')
        self.p = declare_parameters(self, SPECS)
        cfg_path = self.p['robot_config']
        try:
            robot = load_robot_config(cfg_path)
        except ConfigError as exc:
            raise StartupError(str(exc))
        self.drive = DiffDrive(robot)
        self.odometry = Odometry(self.drive)
        self.parser = protocol.Parser()
        self._lock = threading.Lock()
        self._cmd = (0.0, 0.0)
        self._cmd_time = None
        self._timed_out = True
        self._last_control = None
        self.stats = {'cmd_timeouts': 0, 'serial_errors': 0, 'watchdog_reports': 0,
                      'reconnects': 0}
        self._battery = None
        self._last_encoder = None
        self._mcu_flags = 0
        self._serial_lock = threading.Lock()
        try:
            self.serial = self._open()
        except (serial.SerialException, OSError) as exc:
            raise StartupError('cannot open motor controller port %s: %s' % (self.p['port'], exc))

        self.odom_pub = self.create_publisher(OdometryMsg, 'odom', SENSOR_QOS)
        self.battery_pub = self.create_publisher(BatteryState, 'battery', RELIABLE_QOS)
        self.create_subscription(Twist, 'cmd_vel', self._on_cmd_vel, RELIABLE_QOS)
        self.tf_broadcaster = None
        if tf2_ros is not None and self.p['publish_tf']:
            self.tf_broadcaster = tf2_ros.TransformBroadcaster(self)
        self.create_timer(1.0 / self.p['control_rate'], self._control)
        self.diagnostics = DiagnosticsPublisher(self, self.p['diagnostics_period'],
                                                self.diagnostic_status)
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name='base-serial', daemon=True)
        self._reader.start()
        self.get_logger().info('base on %s: wheel r=%.3f m, base %.3f m, limits %.2f m/s %.2f rad/s%s'
                               % (self.p['port'], self.drive.r, self.drive.b, self.drive.v_max,
                                  self.drive.w_max, '' if self.tf_broadcaster else ' (no TF)'))

    # --- commands ---------------------------------------------------------------------------------
    def _on_cmd_vel(self, msg):
        with self._lock:
            self._cmd = (msg.linear.x, msg.angular.z)
            self._cmd_time = time.monotonic()

    def _control(self):
        now = time.monotonic()
        with self._lock:
            fresh = (self._cmd_time is not None
                     and now - self._cmd_time <= self.p['cmd_timeout'])
            v, w = self._cmd if fresh else (0.0, 0.0)
        if not fresh and not self._timed_out:
            self.stats['cmd_timeouts'] += 1
            self.get_logger().warning('no cmd_vel for %.2f s: stopping the motors'
                                   % self.p['cmd_timeout'])
        self._timed_out = not fresh
        dt = 0.0 if self._last_control is None else now - self._last_control
        self._last_control = now
        left, right = self.drive.command(v, w, dt)
        self._write(protocol.encode_wheel_cmd(left, right))

    def _open(self):
        port = serial.Serial(self.p['port'], self.p['baudrate'], timeout=0.05)
        port.reset_input_buffer()
        return port

    def _write(self, data):
        try:
            with self._serial_lock:
                if self.serial is None:
                    raise serial.SerialException('port closed, reconnecting')
                self.serial.write(data)
        except (serial.SerialException, OSError) as exc:
            self.stats['serial_errors'] += 1
            self.get_logger().error('serial write failed: %s' % exc, throttle_duration_sec=5.0)

    # --- frames from the MCU ----------------------------------------------------------------------
    def _read_loop(self):
        while self._running:
            try:
                data = self.serial.read(256)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._running:
                    return
                self.stats['serial_errors'] += 1
                self.get_logger().error('motor controller link lost (%s): reconnecting' % exc)
                self._reconnect()
                continue
            if not data:
                continue
            for frame in self.parser.feed(data):
                try:
                    self._handle(frame)
                except Exception as exc:  # a publish during shutdown must not kill the reader
                    if self._running:
                        self.get_logger().error('frame %r: %s' % (frame, exc))

    def _reconnect(self):
        """Close the port and reopen it every 0.5 s until it works (USB re-plug, MCU reset)."""
        with self._serial_lock:
            old, self.serial = self.serial, None
        if old is not None:
            try:
                old.close()
            except (serial.SerialException, OSError):
                pass
        while self._running:
            time.sleep(0.5)
            try:
                port = self._open()
            except (serial.SerialException, OSError):
                continue
            with self._serial_lock:
                self.serial = port
            # the MCU may have restarted its counters: keep the pose, restart the tick reference
            self.odometry.restart()
            self.stats['reconnects'] += 1
            self.get_logger().info('motor controller link on %s restored' % self.p['port'])
            return

    def _handle(self, frame):
        if frame.type == protocol.ENCODER:
            left, right, stamp_us = frame.fields
            self._last_encoder = time.monotonic()
            if self.odometry.update(left, right, stamp_us):
                self._publish_odom()
        elif frame.type == protocol.BATTERY:
            mv, pct = frame.fields
            self._battery = (mv, pct)
            msg = BatteryState()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.voltage = mv / 1000.0
            msg.percentage = min(pct, 100) / 100.0
            msg.present = True
            msg.current = float('nan')
            msg.charge = float('nan')
            msg.capacity = float('nan')
            msg.design_capacity = float('nan')
            msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
            self.battery_pub.publish(msg)
        elif frame.type == protocol.STATUS:
            (flags,) = frame.fields
            if flags & protocol.STATUS_WATCHDOG and not self._mcu_flags & protocol.STATUS_WATCHDOG:
                self.stats['watchdog_reports'] += 1
                self.get_logger().warning('motor controller watchdog stopped the motors')
            self._mcu_flags = flags

    def _publish_odom(self):
        o = self.odometry
        stamp = self.get_clock().now().to_msg()
        msg = OdometryMsg()
        msg.header.stamp = stamp
        msg.header.frame_id = self.p['odom_frame']
        msg.child_frame_id = self.p['base_frame']
        msg.pose.pose.position.x = o.x
        msg.pose.pose.position.y = o.y
        qz, qw = _yaw_quaternion(o.yaw)
        msg.pose.pose.orientation.z = qz
        msg.pose.pose.orientation.w = qw
        msg.twist.twist.linear.x = o.v
        msg.twist.twist.angular.z = o.w
        msg.pose.covariance = ODOM_COVARIANCE
        msg.twist.covariance = ODOM_COVARIANCE
        self.odom_pub.publish(msg)
        if self.tf_broadcaster is not None:
            t = TransformStamped()
            t.header = msg.header
            t.child_frame_id = msg.child_frame_id
            t.transform.translation.x = o.x
            t.transform.translation.y = o.y
            t.transform.rotation.z = qz
            t.transform.rotation.w = qw
            self.tf_broadcaster.sendTransform(t)

    # --- diagnostics ------------------------------------------------------------------------------
    def diagnostic_status(self):
        now = time.monotonic()
        level, msgs = DiagnosticStatus.OK, []
        if self.serial is None:
            level, msgs = DiagnosticStatus.ERROR, ['link lost, reconnecting']
        elif self._last_encoder is None or now - self._last_encoder > 1.0:
            level, msgs = DiagnosticStatus.ERROR, ['no encoder frames']
        if self.parser.errors():
            level = max(level, DiagnosticStatus.WARN)
            msgs.append('%d corrupted frames' % self.parser.errors())
        if self._mcu_flags & protocol.STATUS_WATCHDOG:
            level = max(level, DiagnosticStatus.WARN)
            msgs.append('firmware watchdog stopped the motors')
        if self._battery is not None and self._battery[1] < self.p['battery_low_pct']:
            level = max(level, DiagnosticStatus.WARN)
            msgs.append('battery low')
        values = dict(self.parser.stats)
        values.update(self.stats)
        values['cmd_timed_out'] = self._timed_out
        if self._battery is not None:
            values['battery_mv'], values['battery_pct'] = self._battery
        return make_status('nanorover_base: motor controller', level, '; '.join(msgs) or 'ok',
                           hardware_id=self.p['port'], values=values)

    def close(self):
        """Stop the motors and the reader before the node is destroyed."""
        self._running = False
        self.drive.reset()
        self._write(protocol.encode(protocol.STOP))
        self._reader.join(1.0)
        try:
            if self.serial is not None:
                self.serial.close()
        except (serial.SerialException, OSError):
            pass


def _yaw_quaternion(yaw):
    return math.sin(0.5 * yaw), math.cos(0.5 * yaw)


def main(args=None):
    return run_node(BaseNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
