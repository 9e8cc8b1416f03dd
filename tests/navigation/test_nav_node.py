"""navigator_node over real DDS: map + odom + slam/pose + goal_pose in, cmd_vel / status / path out.

The test plays the robot: it integrates the node's cmd_vel into odom (20 Hz, wall clock), publishes
slam/pose with a fixed map -> odom offset (so the node must combine the two), and optionally a
LaserScan that shows an obstacle not in the map.
"""
import math
import time

import numpy as np
import pytest

from conftest import spin_until

pytestmark = pytest.mark.ros

OFFSET = (0.5, 0.3)      # map -> odom translation used by the fake SLAM
RES = 0.05


class FakeRobot(object):
    def __init__(self, ctx, executor, start_map, obstacle=None):
        from geometry_msgs.msg import PoseStamped, Twist
        from nav_msgs.msg import OccupancyGrid, Odometry, Path
        from rclpy.node import Node
        from sensor_msgs.msg import LaserScan

        from nanorover_common.qos import MAP_QOS, RELIABLE_QOS, SENSOR_QOS
        from nanorover_interfaces.msg import NavigationStatus
        self.Twist, self.PoseStamped = Twist, PoseStamped
        self.Odometry, self.LaserScan = Odometry, LaserScan
        self.node = Node('fake_robot', context=ctx)
        executor.add_node(self.node)
        self.map_pub = self.node.create_publisher(OccupancyGrid, 'map', MAP_QOS)
        self.odom_pub = self.node.create_publisher(Odometry, 'odom', SENSOR_QOS)
        self.slam_pub = self.node.create_publisher(PoseStamped, 'slam/pose', RELIABLE_QOS)
        self.goal_pub = self.node.create_publisher(PoseStamped, 'goal_pose', RELIABLE_QOS)
        self.scan_pub = self.node.create_publisher(LaserScan, 'scan', SENSOR_QOS)
        self.cmds, self.statuses, self.paths = [], [], []
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, RELIABLE_QOS)
        self.node.create_subscription(NavigationStatus, 'navigation/status',
                                      self.statuses.append, RELIABLE_QOS)
        self.node.create_subscription(Path, 'navigation/path', self.paths.append, RELIABLE_QOS)
        # odom pose = map pose - OFFSET
        self.odom = [start_map[0] - OFFSET[0], start_map[1] - OFFSET[1], start_map[2]]
        self.cmd = (0.0, 0.0)
        self.obstacle = obstacle            # callable(map pose) -> obstacle x or None
        self.obstacle_x = None
        self.trace = []
        self._last = time.monotonic()
        self.node.create_timer(0.05, self._tick)
        self._publish_map()

    def _on_cmd(self, msg):
        self.cmds.append((msg.linear.x, msg.angular.z))
        self.cmd = (msg.linear.x, msg.angular.z)

    def _publish_map(self):
        from nav_msgs.msg import OccupancyGrid
        grid = np.zeros((40, 80), dtype=np.int8)          # 4 x 2 m room
        grid[0, :] = grid[-1, :] = 100
        grid[:, 0] = grid[:, -1] = 100
        msg = OccupancyGrid()
        msg.header.frame_id = 'map'
        msg.info.resolution = RES
        msg.info.width, msg.info.height = 80, 40
        msg.info.origin.orientation.w = 1.0
        msg.data = grid.ravel().tolist()
        self.map_pub.publish(msg)

    def map_pose(self):
        return (self.odom[0] + OFFSET[0], self.odom[1] + OFFSET[1], self.odom[2])

    def _tick(self):
        now = time.monotonic()
        dt = min(now - self._last, 0.2)
        self._last = now
        v, w = self.cmd
        self.odom[0] += v * math.cos(self.odom[2]) * dt
        self.odom[1] += v * math.sin(self.odom[2]) * dt
        self.odom[2] += w * dt
        stamp = self.node.get_clock().now().to_msg()
        odom = self.Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = 'odom'
        odom.child_frame_id = 'base_footprint'
        odom.pose.pose.position.x, odom.pose.pose.position.y = self.odom[0], self.odom[1]
        odom.pose.pose.orientation.z = math.sin(self.odom[2] / 2)
        odom.pose.pose.orientation.w = math.cos(self.odom[2] / 2)
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = v, w
        self.odom_pub.publish(odom)
        ps = self.PoseStamped()
        ps.header.stamp = stamp
        ps.header.frame_id = 'map'
        mp = self.map_pose()
        ps.pose.position.x, ps.pose.position.y = mp[0], mp[1]
        ps.pose.orientation = odom.pose.pose.orientation
        self.slam_pub.publish(ps)
        self.trace.append(mp)
        if self.obstacle is not None:
            if self.obstacle_x is None:
                self.obstacle_x = self.obstacle(mp)
                self.v_at_obstacle = v
            if self.obstacle_x is not None:
                self._publish_scan(mp, stamp)

    def _publish_scan(self, mp, stamp):
        """A wall across the room at x = obstacle_x (map frame), seen from the lidar."""
        import array
        n = 360
        ang = -math.pi + np.arange(n) * (2 * math.pi / n)
        lx = mp[0] + 0.03 * math.cos(mp[2])
        c = np.cos(ang + mp[2])
        with np.errstate(divide='ignore'):
            r = np.where(c > 1e-3, (self.obstacle_x - lx) / c, np.inf)
        r[r > 8.0] = np.inf
        msg = self.LaserScan()
        msg.header.stamp = stamp
        msg.header.frame_id = 'laser_frame'
        msg.angle_min, msg.angle_increment = -math.pi, 2 * math.pi / n
        msg.angle_max = msg.angle_min + (n - 1) * msg.angle_increment
        msg.range_min, msg.range_max = 0.12, 8.0
        msg.ranges = array.array('f', r.astype(np.float32).tolist())
        self.scan_pub.publish(msg)

    def send_goal(self, x, y, yaw):
        g = self.PoseStamped()
        g.header.frame_id = 'map'
        g.header.stamp = self.node.get_clock().now().to_msg()
        g.pose.position.x, g.pose.position.y = x, y
        g.pose.orientation.z, g.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        self.goal_pub.publish(g)


def _states(robot):
    return [s.state for s in robot.statuses]


def _start(start_node):
    return start_node('nanorover_navigation', 'navigator_node',
                      params={'control_frequency': 20.0, 'stuck_timeout': 3.0})


def test_goal_pose_drives_the_robot_to_the_goal(ros_context, executor, start_node):
    from nanorover_interfaces.msg import NavigationStatus as NS
    proc = _start(start_node)
    robot = FakeRobot(ros_context, executor, (0.6, 1.0, 0.0))
    goal = (3.0, 1.3, math.pi / 2)
    # the node is up once it subscribes to goal_pose
    spin_until(executor, lambda: robot.goal_pub.get_subscription_count() > 0, 20.0,
               'navigator_node subscribing goal_pose')
    robot.send_goal(*goal)
    spin_until(executor, lambda: any(v > 0.05 for v, _ in robot.cmds), 15.0,
               'cmd_vel forward')
    spin_until(executor, lambda: NS.SUCCEEDED in _states(robot) or NS.FAILED in _states(robot),
               40.0, 'SUCCEEDED')
    states = _states(robot)
    assert NS.FAILED not in states, [s.message for s in robot.statuses]
    first = [states.index(s) for s in (NS.PLANNING, NS.FOLLOWING, NS.SUCCEEDED)]
    assert first == sorted(first), states
    x, y, yaw = robot.map_pose()
    assert math.hypot(x - goal[0], y - goal[1]) < 0.2, (x, y)
    assert abs(math.atan2(math.sin(yaw - goal[2]), math.cos(yaw - goal[2]))) < 0.3
    done = [s for s in robot.statuses if s.state == NS.SUCCEEDED][-1]
    assert done.message == 'goal reached' and done.goal.pose.position.x == pytest.approx(3.0)
    # the path was published in the map frame and ends at the goal
    assert robot.paths and robot.paths[0].header.frame_id == 'map'
    end = robot.paths[0].poses[-1].pose.position
    assert math.hypot(end.x - goal[0], end.y - goal[1]) < 0.1
    # the robot was stopped with a zero Twist at the end
    spin_until(executor, lambda: robot.cmds[-1] == (0.0, 0.0), 5.0, 'zero cmd_vel')
    assert proc.alive()
    proc.stop_expect(0)


def test_stops_before_an_obstacle_seen_by_the_scan(ros_context, executor, start_node):
    from nanorover_interfaces.msg import NavigationStatus as NS
    proc = _start(start_node)
    # once the robot has driven past x = 1.2 m, a wall (not in the map) appears 0.45 m ahead of
    # its centre: with 0.14 m radius (+ 0.06 padding) and 0.08 m braking distance at 0.4 m/s it
    # has to brake at once
    robot = FakeRobot(ros_context, executor, (0.6, 1.0, 0.0),
                      obstacle=lambda p: p[0] + 0.45 if p[0] > 1.2 else None)
    spin_until(executor, lambda: robot.goal_pub.get_subscription_count() > 0, 20.0,
               'navigator_node subscribing goal_pose')
    robot.send_goal(3.6, 1.0, 0.0)
    spin_until(executor, lambda: robot.obstacle_x is not None, 20.0, 'robot past x = 1.2 m')
    wall = robot.obstacle_x

    def stopped():
        recent = robot.cmds[-10:]
        return len(recent) == 10 and all(abs(v) < 1e-6 for v, _ in recent[-10:])
    spin_until(executor, stopped, 15.0, 'the robot commanded to stop')
    assert robot.v_at_obstacle > 0.2                       # it was driving at speed
    closest = max(p[0] for p in robot.trace)
    assert closest < wall - 0.14, (closest, wall)          # never touched the wall
    states = _states(robot)
    assert NS.SUCCEEDED not in states
    # the navigator noticed: replanning / recovery / failure, with a reason
    spin_until(executor, lambda: any(s.state in (NS.PLANNING, NS.RECOVERING, NS.FAILED)
                                     for s in robot.statuses[1:]), 15.0, 'replan or recovery')
    proc.stop_expect(0)
