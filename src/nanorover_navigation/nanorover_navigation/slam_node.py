"""slam_node: the embedded graph SLAM (nanorover_navigation.slam) as a ROS 2 node.

Subscribes ``scan`` (sensor_msgs/LaserScan, SensorDataQoS) and ``odom`` (nav_msgs/Odometry,
SensorDataQoS). Publishes ``map`` (nav_msgs/OccupancyGrid, reliable + transient local, frame
``map``) every ``map_publish_period`` s when it changed, ``slam/pose`` (geometry_msgs/PoseStamped,
base_footprint in ``map``) and ``slam/map_to_odom`` (geometry_msgs/TransformStamped) per scan;
broadcasts map -> odom on TF when ``tf2_ros`` is importable. Service ``slam/save_map``
(nanorover_interfaces/SaveMap) writes a map_server PGM + YAML pair atomically.

The odometry pose at a scan's stamp is interpolated from the odom buffer; when odom is late or
missing the latest one is used (the scan matcher absorbs the gap), when none ever came the SLAM
runs on scans alone. Python 3.6 compatible.
"""
import array
import bisect
import collections
import math
import os

import numpy as np
from geometry_msgs.msg import PoseStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid as OccupancyGridMsg
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import LaserScan

from nanorover_common.map_io import MapError, write_map
from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import MAP_QOS, RELIABLE_QOS, SENSOR_QOS
from nanorover_common.robot_config import ConfigError, load_robot_config
from nanorover_common.timeutil import from_time_msg
from nanorover_interfaces.srv import SaveMap
from nanorover_navigation.geometry import (quaternion_from_yaw, se2_between, wrap_angle,
                                           yaw_from_quaternion)
from nanorover_navigation.slam import Slam

try:
    import tf2_ros
except ImportError:   # pip path: no tf2_ros
    tf2_ros = None

NAN = float('nan')

SPECS = [
    Param('map_frame', 'map', 'frame of the map and of slam/pose', read_only=True),
    Param('odom_frame', 'odom', 'odometry frame (child of map)', read_only=True),
    Param('base_frame', 'base_footprint', 'robot frame whose pose is estimated', read_only=True),
    Param('resolution', 0.05, 'occupancy map cell size [m]', range=(0.01, 0.5), read_only=True),
    Param('match_resolution', 0.05, 'likelihood-field cell size for scan matching [m]',
          range=(0.01, 0.5), read_only=True),
    Param('max_range', 12.0, 'laser readings beyond this are not used [m]', range=(1.0, 40.0),
          read_only=True),
    Param('min_range', 0.1, 'laser readings below this are not used [m]', range=(0.0, 2.0),
          read_only=True),
    Param('clear_no_return', False, 'beams without a return (+inf) clear free space up to '
          'max_range / 2 (off: the G4 reports dropouts the same way)', read_only=True),
    Param('robot_config', '', 'config/robot.yaml with the lidar pose in base_link; empty: '
          '<share of nanorover_bringup>/config/robot.yaml', read_only=True),
    Param('laser_x', NAN, 'laser x in base_footprint [m]; NaN: lidar.x of robot_config',
          read_only=True),
    Param('laser_y', NAN, 'laser y in base_footprint [m]; NaN: lidar.y of robot_config',
          read_only=True),
    Param('laser_yaw', NAN, 'laser yaw in base_footprint [rad]; NaN: lidar.yaw of robot_config',
          read_only=True),
    Param('match_beams', 180, 'beams used for scan matching (evenly subsampled)',
          range=(30, 2000), read_only=True),
    Param('search_window_xy', 0.2, 'tracking search half-window [m]', range=(0.05, 2.0),
          read_only=True),
    Param('search_window_theta', 0.15, 'tracking search half-window [rad]', range=(0.02, 1.0),
          read_only=True),
    Param('min_match_score', 0.35, 'below this mean likelihood the odometry is trusted',
          range=(0.0, 1.0), read_only=True),
    Param('min_travel_distance', 0.2, 'new keyframe after this travel [m]', range=(0.02, 5.0)),
    Param('min_travel_heading', 0.25, 'new keyframe after this rotation [rad]',
          range=(0.02, 3.2)),
    Param('loop_closure', True, 'search and add loop closures'),
    Param('loop_search_distance', 3.0, 'loop candidates within this distance [m]',
          range=(0.5, 20.0)),
    Param('loop_min_travel', 6.0, 'loop candidates at least this far back along the path [m]',
          range=(1.0, 1000.0)),
    Param('loop_min_score', 0.55, 'mean likelihood a loop-closure match needs',
          range=(0.1, 1.0)),
    Param('map_path', '~/.nanorover/maps/map', 'default save_map path (without extension)'),
    Param('map_publish_period', 2.0, 'map publishing period [s] (only when it changed)',
          range=(0.1, 60.0), read_only=True),
    Param('publish_tf', True, 'broadcast map -> odom (only when tf2_ros exists)', read_only=True),
    Param('odom_timeout', 0.5, 'odom older than this at a scan counts as a gap [s]',
          range=(0.01, 10.0)),
    Param('deskew', True, 'de-skew scans with odometry over the beams\' times '
          '(LaserScan.time_increment)', read_only=True),
    Param('odom_wait', 2.0, 'at start, scans are held back until odom arrives, for at most this '
          'long [s]; then scan matching alone', range=(0.0, 60.0), read_only=True),
]

# parameters passed straight into the SLAM core (live-updatable ones are re-applied on change)
CORE_KEYS = ('resolution', 'match_resolution', 'max_range', 'min_range', 'clear_no_return',
             'match_beams',
             'search_window_xy', 'search_window_theta', 'min_match_score', 'min_travel_distance',
             'min_travel_heading', 'loop_closure', 'loop_search_distance', 'loop_min_travel',
             'loop_min_score')


def laser_pose_from_config(path):
    """(x, y, yaw) of the lidar in base from robot.yaml's ``lidar`` section."""
    try:
        lidar = load_robot_config(path, required=('lidar.x', 'lidar.y', 'lidar.yaw'))['lidar']
    except ConfigError as exc:
        raise StartupError('cannot read the lidar pose (%s); give robot_config or '
                           'laser_x/laser_y/laser_yaw' % exc)
    return float(lidar['x']), float(lidar['y']), float(lidar['yaw'])


class OdomBuffer(object):
    """Recent odometry poses, interpolated at a query time."""

    def __init__(self, maxlen=400):
        self.times = collections.deque(maxlen=maxlen)
        self.poses = collections.deque(maxlen=maxlen)

    def add(self, t, pose):
        if self.times and t < self.times[-1]:
            # time went backwards (sim restart / bag loop): start over
            self.times.clear()
            self.poses.clear()
        self.times.append(t)
        self.poses.append(pose)

    def __len__(self):
        return len(self.times)

    def lookup(self, t):
        """(pose, age) at time t: interpolated inside the buffer, else the nearest end."""
        if not self.times:
            return None, float('inf')
        times = list(self.times)
        k = bisect.bisect_left(times, t)
        if k >= len(times):
            return np.array(self.poses[-1]), t - times[-1]
        if k == 0:
            return np.array(self.poses[0]), times[0] - t
        t0, t1 = times[k - 1], times[k]
        p0, p1 = np.array(self.poses[k - 1]), np.array(self.poses[k])
        a = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
        p = p0 + a * (p1 - p0)
        p[2] = wrap_angle(p0[2] + a * wrap_angle(p1[2] - p0[2]))
        return p, 0.0

    def lookup_many(self, times):
        """(N, 3) poses at sorted ``times`` (linear interpolation, clamped at the ends)."""
        t = np.array(self.times)
        p = np.array(self.poses)
        yaw = np.unwrap(p[:, 2])
        out = np.empty((len(times), 3))
        out[:, 0] = np.interp(times, t, p[:, 0])
        out[:, 1] = np.interp(times, t, p[:, 1])
        out[:, 2] = wrap_angle(np.interp(times, t, yaw))
        return out


def grid_message(grid, info, frame, stamp):
    msg = OccupancyGridMsg()
    msg.header.frame_id = frame
    msg.header.stamp = stamp
    msg.info.map_load_time = stamp
    msg.info.resolution = float(info.resolution)
    msg.info.height, msg.info.width = int(grid.shape[0]), int(grid.shape[1])
    msg.info.origin.position.x = float(info.origin[0])
    msg.info.origin.position.y = float(info.origin[1])
    msg.info.origin.orientation.w = 1.0
    msg.data = array.array('b', np.ascontiguousarray(grid, dtype=np.int8).tobytes())
    return msg


def map_stem(path):
    """Save path without .yaml/.pgm, user-expanded."""
    path = os.path.expanduser(path.strip())
    for ext in ('.yaml', '.yml', '.pgm'):
        if path.endswith(ext):
            return path[:-len(ext)]
    return path


class SlamNode(Node):

    def __init__(self):
        super().__init__('slam_node')
        self.p = declare_parameters(self, SPECS, on_change=self._on_params)
        laser = [self.p['laser_x'], self.p['laser_y'], self.p['laser_yaw']]
        if any(math.isnan(v) for v in laser):
            from_cfg = laser_pose_from_config(self.p['robot_config'])
            laser = [from_cfg[i] if math.isnan(v) else v for i, v in enumerate(laser)]
        cfg = dict((k, self.p[k]) for k in CORE_KEYS)
        cfg.update({'laser_x': laser[0], 'laser_y': laser[1], 'laser_yaw': laser[2]})
        self.slam = Slam(cfg)
        self.odom = OdomBuffer()
        self._scan_only = False
        self._first_scan_t = None
        self._published_version = None
        self._last_stamp = None
        self._last_scan_t = None
        self.stats = {'scans': 0, 'bad_scans': 0, 'out_of_order': 0, 'waiting_for_odom': 0,
                      'odom_gaps': 0, 'maps': 0, 'saves': 0}

        self.map_pub = self.create_publisher(OccupancyGridMsg, 'map', MAP_QOS)
        self.pose_pub = self.create_publisher(PoseStamped, 'slam/pose', RELIABLE_QOS)
        self.tf_pub = self.create_publisher(TransformStamped, 'slam/map_to_odom', RELIABLE_QOS)
        self.create_subscription(LaserScan, 'scan', self._on_scan, SENSOR_QOS)
        self.create_subscription(Odometry, 'odom', self._on_odom, SENSOR_QOS)
        self.create_service(SaveMap, 'slam/save_map', self._on_save_map)
        self.tf_broadcaster = None
        if tf2_ros is not None and self.p['publish_tf']:
            self.tf_broadcaster = tf2_ros.TransformBroadcaster(self)
        self.create_timer(self.p['map_publish_period'], self._publish_map)
        self.get_logger().info(
            'embedded SLAM: resolution %.3f m, laser at (%.3f, %.3f, %.3f), loop closure %s%s'
            % (self.p['resolution'], laser[0], laser[1], laser[2],
               'on' if self.p['loop_closure'] else 'off', '' if self.tf_broadcaster else
               ' (no TF: tf2_ros missing)'))

    def _on_params(self, changed):
        for k, v in changed.items():
            if k in CORE_KEYS:
                self.slam.cfg[k] = v
        return None

    # --- input ------------------------------------------------------------------------------
    def _on_odom(self, msg):
        p = msg.pose.pose
        self.odom.add(from_time_msg(msg.header.stamp),
                      (p.position.x, p.position.y, yaw_from_quaternion(p.orientation)))

    def _on_scan(self, msg):
        t = from_time_msg(msg.header.stamp)
        if not (msg.angle_increment != 0.0 and math.isfinite(msg.angle_increment) and
                math.isfinite(msg.angle_min) and msg.range_max > 0.0):
            self.stats['bad_scans'] += 1
            self.get_logger().warning('ignoring a malformed scan (angle_increment %r, range_max %r)'
                                      % (msg.angle_increment, msg.range_max),
                                      throttle_duration_sec=5.0)
            return
        if self._last_scan_t is not None and t <= self._last_scan_t:
            if self._last_scan_t - t < 5.0:
                # out of order (a driver's stamps jitter): older than what the map already holds
                self.stats['out_of_order'] += 1
                self.get_logger().warning('scan stamp %.3f s older than the last one (%.3f s): '
                                          'skipped' % (t, self._last_scan_t),
                                          throttle_duration_sec=5.0)
                return
            # time jumped back by more than 5 s (sim/bag restart): accept, go on from here
        odom, age = self.odom.lookup(t)
        if odom is None:
            # no odometry (yet): wait up to odom_wait s of scans for it, then go on with scan
            # matching alone (constant odometry). A scan held back here is not consumed: the
            # same scan may still be used once its odometry has arrived.
            if self._first_scan_t is None:
                self._first_scan_t = t
            if t - self._first_scan_t < self.p['odom_wait']:
                self.stats['waiting_for_odom'] += 1
                return
            if not self._scan_only:
                self.get_logger().warning('no odom after %.1f s: scan matching only'
                                          % self.p['odom_wait'])
                self._scan_only = True
            odom = self.slam.odom if self.slam.odom is not None else np.zeros(3)
        else:
            if self._scan_only:
                # odometry appeared after a scan-only start: continue from it without a jump
                self.slam.rebase_odom(odom)
                self._scan_only = False
                self.get_logger().info('odom arrived: using it from now on')
        self._last_scan_t = t
        if age > self.p['odom_timeout'] and len(self.odom):
            self.stats['odom_gaps'] += 1
            self.get_logger().warning('odom %.2f s away from the scan: using the nearest' % age,
                                      throttle_duration_sec=5.0)
        ranges = np.frombuffer(msg.ranges, dtype=np.float32) if isinstance(
            msg.ranges, array.array) else np.asarray(msg.ranges, dtype=np.float32)
        motion = None
        if self.p['deskew'] and len(self.odom) >= 2 and msg.time_increment > 0.0 and \
                len(ranges) > 1:
            beam_t = t + msg.time_increment * np.arange(len(ranges))
            motion = se2_between(odom, self.odom.lookup_many(beam_t))
        pose = self.slam.process(t, ranges, msg.angle_min, msg.angle_increment,
                                 msg.range_min, msg.range_max, odom, motion)
        self.stats['scans'] += 1
        self._last_stamp = msg.header.stamp
        self._publish_pose(pose, msg.header.stamp)

    # --- output ------------------------------------------------------------------------------
    def _publish_pose(self, pose, stamp):
        ps = PoseStamped()
        ps.header.frame_id = self.p['map_frame']
        ps.header.stamp = stamp
        ps.pose.position.x = float(pose[0])
        ps.pose.position.y = float(pose[1])
        q = quaternion_from_yaw(float(pose[2]))
        ps.pose.orientation.x, ps.pose.orientation.y = q[0], q[1]
        ps.pose.orientation.z, ps.pose.orientation.w = q[2], q[3]
        self.pose_pub.publish(ps)
        m2o = self.slam.map_to_odom
        tf = TransformStamped()
        tf.header.frame_id = self.p['map_frame']
        tf.header.stamp = stamp
        tf.child_frame_id = self.p['odom_frame']
        tf.transform.translation.x = float(m2o[0])
        tf.transform.translation.y = float(m2o[1])
        q = quaternion_from_yaw(float(m2o[2]))
        tf.transform.rotation.x, tf.transform.rotation.y = q[0], q[1]
        tf.transform.rotation.z, tf.transform.rotation.w = q[2], q[3]
        self.tf_pub.publish(tf)
        if self.tf_broadcaster is not None:
            self.tf_broadcaster.sendTransform(tf)

    def _publish_map(self):
        if not self.slam.keyframes:
            return
        version = self.slam.map_version
        if version == self._published_version:
            return
        grid, info = self.slam.occupancy()
        stamp = self._last_stamp
        if stamp is None:
            stamp = self.get_clock().now().to_msg()
        self.map_pub.publish(grid_message(grid, info, self.p['map_frame'], stamp))
        self._published_version = self.slam.map_version
        self.stats['maps'] += 1

    def _on_save_map(self, request, response):
        stem = map_stem(request.path or self.p['map_path'])
        if not stem:
            response.success = False
            response.message = 'no path given and map_path is empty'
            return response
        if not self.slam.keyframes:
            response.success = False
            response.message = 'no map yet (no scan with enough valid returns received)'
            return response
        grid, info = self.slam.occupancy()
        try:
            path = write_map(stem, grid, info)
        except (MapError, IOError, OSError) as exc:
            response.success = False
            response.message = 'cannot save map to %s: %s' % (stem, exc)
            self.get_logger().error(response.message)
            return response
        self.stats['saves'] += 1
        response.success = True
        response.message = path
        self.get_logger().info('map saved: %s (%dx%d)' % (path, grid.shape[1], grid.shape[0]))
        return response


def main(args=None):
    return run_node(SlamNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
