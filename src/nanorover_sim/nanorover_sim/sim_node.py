"""sim_node: the embedded simulator as a ROS 2 node (thin layer over nanorover_sim.engine).

Subscribes ``cmd_vel`` (geometry_msgs/Twist; no command for ``cmd_timeout`` sim seconds -> stop).
Publishes ``clock`` (rosgraph_msgs/Clock, sim time), ``odom`` (nav_msgs/Odometry odom ->
base_footprint, drifting wheel odometry, SENSOR_QOS), ``sim/ground_truth`` (Odometry in frame
``world``), ``camera/image_raw`` (bgr8) + ``camera/camera_info`` (SENSOR_QOS, camera_optical_frame),
``sim/collisions`` (std_msgs/UInt32, total count).  The lidar is a YDLIDAR G4 emulator on a pty
(symlinked at ``lidar_port_link``) that the real ydlidar_g4_node reads.

Sim time advances ``realtime_factor`` x wall time (steps of 1/rate s); when the machine cannot keep
up, sim time slows down (never skips), so every sensor stays consistent with sim time.  The node's
own ``use_sim_time`` stays false: it is the clock.
"""
import math
import time

from geometry_msgs.msg import TransformStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import UInt32

from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import RELIABLE_QOS, SENSOR_QOS
from nanorover_common.timeutil import to_time_msg
from nanorover_perception.camera_info import DEFAULT_FRAME_ID, camera_info_msg, image_msg
from nanorover_sim.diffdrive import load_robot_config
from nanorover_sim.engine import SimEngine
from nanorover_sim.world import WorldError, list_worlds

MAX_CATCHUP_STEPS = 50  # per timer tick: beyond this sim time falls behind instead of bursting


def _world_exists(name):
    import os
    if os.sep in name or name.endswith('.yaml'):
        return None if os.path.exists(os.path.expanduser(name)) else 'no such file or folder'
    if name not in list_worlds():
        return 'unknown world; available: %s' % ', '.join(list_worlds())
    return None


SPECS = [
    Param('world', 'room', 'world name (see list_worlds) or a world folder / map.yaml path',
          validator=_world_exists, read_only=True),
    Param('seed', 0, 'seed of every random process (drift, lidar noise, image noise)',
          range=(0, 2 ** 31 - 1), read_only=True),
    Param('realtime_factor', 1.0, 'sim seconds per wall second', range=(0.05, 20.0)),
    Param('rate', 100.0, 'simulation step rate [Hz of sim time]', range=(10.0, 1000.0),
          read_only=True),
    Param('cmd_timeout', 0.5, 'stop when no cmd_vel came for this long [sim s]',
          range=(0.05, 10.0)),
    Param('odom_rate', 50.0, 'odom + ground truth rate [Hz of sim time]', range=(1.0, 200.0)),
    Param('slip_systematic', 0.01, 'std of each wheel\'s calibration error (relative)',
          range=(0.0, 0.2), read_only=True),
    Param('slip_random', 0.03, 'std of the per-step random wheel slip (relative)',
          range=(0.0, 0.5), read_only=True),
    Param('lidar', True, 'run the G4 emulator', read_only=True),
    Param('lidar_port_link', '', 'symlink to create at the emulator pty (empty: none; the pty '
          'name is logged)', read_only=True),
    Param('lidar_frequency', 10.0, 'scan frequency of the emulated G4 [Hz]', range=(5.0, 12.0),
          read_only=True),
    Param('lidar_sample_rate', 9, 'sample rate of the emulated G4 [kHz]', choices=(4, 8, 9),
          read_only=True),
    Param('lidar_noise', True, 'G4-like range noise and dropouts', read_only=True),
    Param('camera', True, 'render and publish camera images'),
    Param('camera_rate', 0.0, 'camera rate [Hz of sim time]; 0: robot.yaml camera.rate',
          range=(0.0, 60.0)),
    Param('camera_width', 0, 'image width; 0: robot.yaml', range=(0, 1920), read_only=True),
    Param('camera_height', 0, 'image height; 0: robot.yaml', range=(0, 1080), read_only=True),
    Param('camera_noise', True, 'lighting variation and pixel noise'),
    Param('robot_config', '', 'robot.yaml path; empty: $NANOROVER_CONFIG, '
          'share/nanorover_bringup/config or the repo config/', read_only=True),
]


def _odometry(frame, child, stamp, pose, v, w, cov_xy, cov_yaw):
    msg = Odometry()
    msg.header.frame_id = frame
    msg.header.stamp = stamp
    msg.child_frame_id = child
    x, y, yaw = pose
    msg.pose.pose.position.x = float(x)
    msg.pose.pose.position.y = float(y)
    msg.pose.pose.orientation.z = math.sin(yaw / 2.0)
    msg.pose.pose.orientation.w = math.cos(yaw / 2.0)
    cov = [0.0] * 36
    cov[0] = cov[7] = cov_xy
    cov[14] = cov[21] = cov[28] = 1e6 if cov_xy > 0 else 0.0
    cov[35] = cov_yaw
    msg.pose.covariance = cov
    msg.twist.twist.linear.x = float(v)
    msg.twist.twist.angular.z = float(w)
    tcov = [0.0] * 36
    tcov[0] = cov_xy
    tcov[35] = cov_yaw
    msg.twist.covariance = tcov
    return msg


class SimNode(Node):
    def __init__(self):
        super().__init__('sim_node')
        # this node IS the clock: never let a global params file switch it to sim time
        if self.get_parameter('use_sim_time').value:
            self.get_logger().warning('use_sim_time=true ignored: sim_node publishes the clock')
            self.set_parameters([Parameter('use_sim_time', Parameter.Type.BOOL, False)])
        self.p = declare_parameters(self, SPECS, on_change=self._on_params)
        p = self.p
        try:
            robot_cfg = load_robot_config(p['robot_config'] or None)
        except (IOError, OSError, ValueError) as exc:
            raise StartupError('robot config: %s' % exc)
        cam_cfg = robot_cfg.get('camera', {})
        size = (p['camera_width'] or None, p['camera_height'] or None)
        try:
            self.engine = SimEngine(
                p['world'], robot_cfg, seed=p['seed'], rate=p['rate'], cmd_timeout=p['cmd_timeout'],
                slip=(p['slip_systematic'], p['slip_random']), camera_size=size,
                lidar_options={'sample_rate_khz': p['lidar_sample_rate']})
        except (WorldError, IOError, OSError, ValueError) as exc:
            raise StartupError('cannot load world %r: %s' % (p['world'], exc))
        eng = self.engine
        if not p['lidar_noise']:
            eng.lidar.noise_std_m = eng.lidar.noise_rel = eng.lidar.dropout = 0.0
            eng.lidar.grazing_dropout = 0.0
        self.camera_rate = p['camera_rate'] or float(cam_cfg.get('rate', 15.0))

        self.pub_clock = self.create_publisher(Clock, 'clock', 10)
        self.pub_odom = self.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.pub_truth = self.create_publisher(Odometry, 'sim/ground_truth', SENSOR_QOS)
        self.pub_image = self.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.pub_info = self.create_publisher(CameraInfo, 'camera/camera_info', SENSOR_QOS)
        cam = eng.camera_model
        self.camera_info = camera_info_msg(cam.width, cam.height, cam.K, cam.D, cam.P,
                                           DEFAULT_FRAME_ID)   # stamped per frame
        self.pub_coll = self.create_publisher(UInt32, 'sim/collisions', RELIABLE_QOS)
        self.create_subscription(Twist, 'cmd_vel', self._on_cmd, RELIABLE_QOS)
        self._tf = self._make_tf_broadcaster()

        if p['lidar']:
            try:
                emu = eng.start_lidar(p['lidar_port_link'] or None, p['lidar_frequency'],
                                      p['lidar_sample_rate'])
            except ImportError as exc:
                raise StartupError('lidar needs the ydlidar_g4 package (%s); set lidar:=false to '
                                   'run without it' % exc)
            except OSError as exc:
                raise StartupError('cannot create the lidar pty link %r: %s'
                                   % (p['lidar_port_link'], exc))
            self.get_logger().info('G4 emulator on %s%s' % (
                emu.pty_name, (' (link %s)' % p['lidar_port_link']) if p['lidar_port_link'] else ''))

        self._next_odom = 0.0
        self._next_cam = 0.0
        self._last_coll = None
        self._next_coll = 0.0
        self._wall0 = time.monotonic()
        self._sim0 = 0.0
        self._factor = p['realtime_factor']
        period = max(0.002, 1.0 / (eng.rate * self._factor))
        self.timer = self.create_timer(min(period, 0.02), self._advance)
        self.get_logger().info('world %s (%d objects), start %s, %.0f Hz steps, realtime factor %.2f'
                               % (eng.world.name, len(eng.world.objects),
                                  tuple(round(v, 2) for v in eng.robot.pose), eng.rate,
                                  self._factor))

    def _make_tf_broadcaster(self):
        try:
            import tf2_ros  # not on the pip path; present on a real ROS install
        except ImportError:
            return None
        return tf2_ros.TransformBroadcaster(self)

    def _on_params(self, changed):
        """Accepted (range-checked) parameter changes: a new realtime_factor re-anchors pacing
        so that sim time continues smoothly at the new factor."""
        if 'realtime_factor' in changed:
            self._sim0 = self.engine.time
            self._wall0 = time.monotonic()
            self._factor = float(changed['realtime_factor'])
        return None

    def _on_cmd(self, msg):
        try:
            self.engine.set_cmd(msg.linear.x, msg.angular.z)
        except ValueError as exc:
            self.get_logger().warning('cmd_vel ignored: %s' % exc, throttle_duration_sec=2.0)

    # -- main loop (a publish failing because SIGINT/SIGTERM shut the context down is handled
    # by nanorover_common.node.run_node as the requested stop) --------------------------------
    def _advance(self):
        eng = self.engine
        target = self._sim0 + self._factor * (time.monotonic() - self._wall0)
        n = 0
        while eng.time + eng.dt <= target + 1e-9 and n < MAX_CATCHUP_STEPS:
            eng.step()
            n += 1
            if eng.time + 1e-9 >= self._next_odom:
                self._publish_odom()
                self._next_odom += 1.0 / self.p['odom_rate']
        if n == 0:
            return
        if n >= MAX_CATCHUP_STEPS:
            # overloaded: let sim time fall behind instead of trying to catch up forever
            self._sim0 = eng.time
            self._wall0 = time.monotonic()
        stamp = to_time_msg(eng.time)
        self.pub_clock.publish(Clock(clock=stamp))
        if eng.time + 1e-9 >= self._next_coll or eng.robot.collisions != self._last_coll:
            self._last_coll = eng.robot.collisions
            self.pub_coll.publish(UInt32(data=int(eng.robot.collisions)))
            self._next_coll = eng.time + 1.0
        if self.p['camera'] and eng.time + 1e-9 >= self._next_cam:
            self._next_cam = max(self._next_cam + 1.0 / self.camera_rate, eng.time)
            self._publish_camera(stamp)

    def _publish_odom(self):
        eng = self.engine
        stamp = to_time_msg(eng.time)
        r = eng.robot
        self.pub_odom.publish(_odometry('odom', 'base_footprint', stamp, r.odom_pose, r.odom_v,
                                        r.odom_w, 0.001 + r.slip[1] ** 2, 0.002 + r.slip[1] ** 2))
        self.pub_truth.publish(_odometry('world', 'base_footprint', stamp, r.pose, r.v, r.w,
                                         0.0, 0.0))
        if self._tf is not None:
            t = TransformStamped()
            t.header.stamp = stamp
            t.header.frame_id = 'odom'
            t.child_frame_id = 'base_footprint'
            x, y, yaw = r.odom_pose
            t.transform.translation.x, t.transform.translation.y = float(x), float(y)
            t.transform.rotation.z, t.transform.rotation.w = math.sin(yaw / 2), math.cos(yaw / 2)
            self._tf.sendTransform(t)

    def _publish_camera(self, stamp):
        eng = self.engine
        img, _ = eng.render(noise=self.p['camera_noise'])
        self.pub_image.publish(image_msg(img, 'bgr8', DEFAULT_FRAME_ID, stamp))
        self.camera_info.header.stamp = stamp
        self.pub_info.publish(self.camera_info)

    def close(self):
        self.engine.stop()


def main(args=None):
    return run_node(SimNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
