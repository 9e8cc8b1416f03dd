"""navigator_node: the embedded navigator (nanorover_navigation.navigator) as a ROS 2 node.

Subscribes ``map`` (nav_msgs/OccupancyGrid, reliable + transient local), ``scan``
(sensor_msgs/LaserScan, SensorDataQoS), ``odom`` (nav_msgs/Odometry, SensorDataQoS), ``slam/pose``
(geometry_msgs/PoseStamped, base_footprint in ``map``) and ``goal_pose`` (geometry_msgs/PoseStamped,
as RViz's "Nav2 Goal" tool publishes it; frame ``map``, ``odom`` or empty = map).
Publishes ``cmd_vel`` (geometry_msgs/Twist) at ``control_frequency`` while a goal or the
exploration is active (one zero Twist when it ends / fails / the node shuts down),
``navigation/status`` (nanorover_interfaces/NavigationStatus) on every change and every
``status_period`` s, ``navigation/path`` (nav_msgs/Path) for every new plan.

Robot pose in the map: the latest odom pose composed with the map -> odom correction taken from
the last ``slam/pose`` (matched with the odom pose nearest its stamp); without slam/pose the odom
frame is taken as the map frame. Parameter ``explore`` (true) runs frontier exploration until no
frontier is left. Python 3.6 compatible.
"""
import bisect
import collections

import numpy as np
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import LaserScan

from nanorover_common.node import StartupError, run_node
from nanorover_common.params import Param, declare_parameters
from nanorover_common.qos import MAP_QOS, RELIABLE_QOS, SENSOR_QOS
from nanorover_common.timeutil import from_time_msg
from nanorover_interfaces.msg import NavigationStatus
from nanorover_navigation import navigator as nav_core
from nanorover_navigation.geometry import (quaternion_from_yaw, se2_compose, se2_inverse,
                                           yaw_from_quaternion)

SPECS = [
    Param('explore', False, 'explore autonomously (frontier exploration) until no frontier is '
          'left; a goal_pose interrupts it'),
    Param('control_frequency', 15.0, 'cmd_vel rate while navigating [Hz]', range=(5.0, 50.0),
          read_only=True),
    Param('status_period', 1.0, 'navigation/status is also republished this often [s]',
          range=(0.1, 10.0), read_only=True),
    Param('robot_config', '', 'config/robot.yaml (radius, velocity/acceleration limits, lidar '
          'pose); empty: <share of nanorover_bringup>/config/robot.yaml', read_only=True),
    Param('map_frame', 'map', 'frame of the map, slam/pose, goals and the published path',
          read_only=True),
    Param('odom_frame', 'odom', 'odometry frame (goals in it are converted to the map frame)',
          read_only=True),
    Param('use_scan', True, 'mark/clear live scan obstacles in the costmap'),
] + [Param(name, default, desc, range=rng, read_only=True)
     for name, default, desc, rng in nav_core.PARAMETERS]

_STATE_CONST = {
    nav_core.IDLE: NavigationStatus.IDLE, nav_core.PLANNING: NavigationStatus.PLANNING,
    nav_core.FOLLOWING: NavigationStatus.FOLLOWING,
    nav_core.RECOVERING: NavigationStatus.RECOVERING,
    nav_core.SUCCEEDED: NavigationStatus.SUCCEEDED, nav_core.FAILED: NavigationStatus.FAILED,
    nav_core.EXPLORING: NavigationStatus.EXPLORING,
}
_ACTIVE = (nav_core.PLANNING, nav_core.FOLLOWING, nav_core.RECOVERING, nav_core.EXPLORING)


def pose_from_msg(pose):
    """geometry_msgs/Pose -> (x, y, yaw)."""
    return (pose.position.x, pose.position.y, yaw_from_quaternion(pose.orientation))


class NavigatorNode(Node):

    def __init__(self):
        super().__init__('navigator_node')
        self.p = declare_parameters(self, SPECS, on_change=self._on_params)
        try:
            robot_cfg = nav_core.load_robot_config(self.p['robot_config'])
        except (IOError, OSError, ValueError) as exc:
            raise StartupError('robot config: %s' % exc)
        core = dict((name, self.p[name]) for name, _, _, _ in nav_core.PARAMETERS)
        try:
            self.nav = nav_core.Navigator(robot_cfg, core)
        except ValueError as exc:
            raise StartupError(str(exc))
        self.odom_pose = None
        self._odom_hist = collections.deque(maxlen=200)   # (stamp, pose)
        self.map_to_odom = None
        self._last_status_pub = None
        self._status_version = -1
        self._path_version = self.nav.path_version
        self._was_active = False

        self.cmd_pub = self.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)
        self.status_pub = self.create_publisher(NavigationStatus, 'navigation/status',
                                                RELIABLE_QOS)
        self.path_pub = self.create_publisher(Path, 'navigation/path', RELIABLE_QOS)
        self.create_subscription(OccupancyGrid, 'map', self._on_map, MAP_QOS)
        self.create_subscription(LaserScan, 'scan', self._on_scan, SENSOR_QOS)
        self.create_subscription(Odometry, 'odom', self._on_odom, SENSOR_QOS)
        self.create_subscription(PoseStamped, 'slam/pose', self._on_slam_pose, RELIABLE_QOS)
        self.create_subscription(PoseStamped, 'goal_pose', self._on_goal, RELIABLE_QOS)
        self.period = 1.0 / self.p['control_frequency']
        self.create_timer(self.period, self._control)
        if self.p['explore']:
            self.nav.start_exploration()
        self.get_logger().info(
            'navigator: radius %.2f m, v <= %.2f m/s, w <= %.2f rad/s, %s' % (
                self.nav.robot_radius, self.nav.limits.max_v, self.nav.limits.max_w,
                'exploring' if self.p['explore'] else 'waiting for goal_pose'))

    # --- parameters -----------------------------------------------------------------------
    def _on_params(self, changed):
        if 'explore' in changed:
            if changed['explore'] and not self.nav.exploring:
                self.nav.start_exploration()
            elif not changed['explore'] and self.nav.exploring:
                self.nav.cancel('exploration stopped (explore:=false)')
        return None

    # --- inputs ---------------------------------------------------------------------------
    def _now(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_map(self, msg):
        info = msg.info
        w, h = info.width, info.height
        if w * h == 0 or len(msg.data) != w * h:
            self.get_logger().error('map ignored: %d data for %dx%d cells' % (len(msg.data), w, h))
            return
        yaw = yaw_from_quaternion(info.origin.orientation)
        if abs(yaw) > 1e-6:
            self.get_logger().error('map ignored: rotated origin (yaw %.3f) is not supported' % yaw)
            return
        if msg.header.frame_id and msg.header.frame_id != self.p['map_frame']:
            self.get_logger().warning('map in frame %r, expected %r: used as is'
                                   % (msg.header.frame_id, self.p['map_frame']))
        grid = np.asarray(msg.data, dtype=np.int8).reshape(h, w)
        try:
            self.nav.set_map(grid, info.resolution,
                             (info.origin.position.x, info.origin.position.y))
        except ValueError as exc:
            self.get_logger().error('map ignored: %s' % exc)

    def _on_odom(self, msg):
        pose = pose_from_msg(msg.pose.pose)
        self.odom_pose = pose
        self._odom_hist.append((from_time_msg(msg.header.stamp), pose))

    def _odom_at(self, stamp):
        if not self._odom_hist:
            return None
        stamps = [s for s, _ in self._odom_hist]
        i = bisect.bisect_left(stamps, stamp)
        cands = [j for j in (i - 1, i) if 0 <= j < len(stamps)]
        j = min(cands, key=lambda k: abs(stamps[k] - stamp))
        return self._odom_hist[j][1]

    def _on_slam_pose(self, msg):
        pose = pose_from_msg(msg.pose)
        odom = self._odom_at(from_time_msg(msg.header.stamp))
        if odom is None:
            # no odometry: the SLAM pose is the robot pose (correction relative to the origin)
            self.map_to_odom = tuple(pose)
            self.odom_pose = self.odom_pose or (0.0, 0.0, 0.0)
            return
        self.map_to_odom = tuple(se2_compose(pose, se2_inverse(odom)))

    def robot_pose(self):
        """(x, y, yaw) in the map frame, or None before the first odom / slam pose."""
        if self.odom_pose is None:
            return None
        if self.map_to_odom is None:
            return tuple(self.odom_pose)
        return tuple(float(v) for v in se2_compose(self.map_to_odom, self.odom_pose))

    def _on_scan(self, msg):
        if not self.p['use_scan']:
            return
        pose = self.robot_pose()
        if pose is None:
            return
        try:
            self.nav.add_scan(pose, np.asarray(msg.ranges, dtype=float), msg.angle_min,
                              msg.angle_increment, msg.range_min, msg.range_max)
        except ValueError as exc:
            self.get_logger().warning('scan ignored: %s' % exc, throttle_duration_sec=5.0)

    def _on_goal(self, msg):
        frame = msg.header.frame_id
        goal = pose_from_msg(msg.pose)
        if frame in ('', self.p['map_frame']):
            pass
        elif frame == self.p['odom_frame']:
            if self.map_to_odom is not None:
                goal = tuple(se2_compose(self.map_to_odom, goal))
        else:
            self.nav.fail('goal frame %r is neither %r nor %r' % (frame, self.p['map_frame'],
                                                                  self.p['odom_frame']))
            self.get_logger().error(self.nav.status.message)
            self._publish_status(self._now())
            return
        self.get_logger().info('goal (%.2f, %.2f, %.2f rad)' % goal)
        self.nav.set_goal(goal[0], goal[1], goal[2])
        self._publish_status(self._now())      # PLANNING goes out before the first plan

    # --- outputs --------------------------------------------------------------------------
    def _control(self):
        now = self._now()
        pose = self.robot_pose()
        state = self.nav.status.state
        if pose is None:
            if state in _ACTIVE and self.nav.status.message != 'waiting for odom':
                self.nav.status.message = 'waiting for odom'
                self.nav.status_version += 1
            v = w = 0.0
        else:
            v, w = self.nav.step(now, pose, dt=self.period)
        active = self.nav.status.state in _ACTIVE
        if active or self._was_active:
            self._publish_cmd(v if active else 0.0, w if active else 0.0)
        self._was_active = active
        self._publish_status(now)
        if self.nav.path_version != self._path_version:
            self._path_version = self.nav.path_version
            self._publish_path()

    def _publish_cmd(self, v, w):
        msg = Twist()
        msg.linear.x = float(v)
        msg.angular.z = float(w)
        self.cmd_pub.publish(msg)

    def _publish_status(self, now):
        st = self.nav.status
        if (st.state != nav_core.IDLE or self._last_status_pub is not None) and (
                self.nav.status_version != self._status_version or self._last_status_pub is None
                or now - self._last_status_pub >= self.p['status_period']
                or now < self._last_status_pub):
            if self.nav.status_version != self._status_version:
                self.get_logger().info('%s: %s' % (nav_core.STATE_NAMES[st.state], st.message))
            self._status_version = self.nav.status_version
            self._last_status_pub = now
            msg = NavigationStatus()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = self.p['map_frame']
            msg.state = _STATE_CONST[st.state]
            msg.message = st.message
            if st.goal is not None:
                msg.goal.header.frame_id = self.p['map_frame']
                msg.goal.pose.position.x = float(st.goal[0])
                msg.goal.pose.position.y = float(st.goal[1])
                q = quaternion_from_yaw(st.goal[2] or 0.0)
                (msg.goal.pose.orientation.x, msg.goal.pose.orientation.y,
                 msg.goal.pose.orientation.z, msg.goal.pose.orientation.w) = q
            msg.distance_remaining = float(st.distance_remaining)
            msg.recoveries = int(st.recoveries)
            msg.replans = int(st.replans)
            self.status_pub.publish(msg)

    def _publish_path(self):
        msg = Path()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.p['map_frame']
        for x, y in self.nav.path:
            ps = PoseStamped()
            ps.header = msg.header
            ps.pose.position.x = float(x)
            ps.pose.position.y = float(y)
            ps.pose.orientation.w = 1.0
            msg.poses.append(ps)
        self.path_pub.publish(msg)

    def close(self):
        """Stop the robot before the node goes away."""
        try:
            self._publish_cmd(0.0, 0.0)
        except Exception:  # noqa: BLE001 - the context may already be shutting down
            pass


def main(args=None):
    return run_node(NavigatorNode, args)


if __name__ == '__main__':
    import sys
    sys.exit(main())
