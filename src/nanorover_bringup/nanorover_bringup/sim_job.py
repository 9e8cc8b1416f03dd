"""`nanorover sim`: the whole stack in the embedded simulator, recorded into a run folder.

Starts sim_node and every installed node of the stack (table: nanorover_bringup.stack) as separate
processes with the param files from config/, drives the robot (navigator exploration, or a scripted
teleop), records the topics in-process into an MCAP file, stops at --duration SIM seconds, and
writes map, trajectories, detections, summary.json and overview.png. A dying node stops the run
with a non-zero exit code and the node's last log lines; Ctrl-C / SIGTERM stop the nodes cleanly
and still write what was collected.
"""
import argparse
import faulthandler
import os
import random
import shutil
import signal
import sys
import tempfile
import time

import numpy as np
import yaml

from nanorover_bringup import resolve, stack
from nanorover_bringup.run_folder import RunData, map_coverage, write_run_folder
from nanorover_bringup.supervisor import NodeDied, Supervisor

EXIT_OK, EXIT_NODE_DIED, EXIT_SETUP, EXIT_WALL_LIMIT, EXIT_INTERNAL = 0, 1, 2, 3, 4


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='nanorover sim',
        description='Run the nanorover stack in the embedded simulator (headless) and write a run '
                    'folder: map, trajectories, detections, MCAP recording, summary.json, '
                    'overview.png. Duration is simulated time.',
        epilog='exit status: 0 completed; 1 a node died (named, with its last log lines) or the '
               'sim publishes no clock; 2 sim_node not installed; 3 wall-time limit reached; '
               '4 internal error; 130/143 interrupted by SIGINT/SIGTERM (the run folder is '
               'written in every case).')
    d = stack.default_args()
    p.add_argument('--world', default=d['world'], help='world name or folder (default %(default)s)')
    p.add_argument('--duration', type=float, default=150.0,
                   help='simulated seconds to run (default %(default)s)')
    p.add_argument('--seed', type=int, default=d['seed'], help='sim seed (default %(default)s)')
    p.add_argument('--out', default=None, help='run folder (default runs/<date-time>)')
    p.add_argument('--realtime-factor', type=float, default=d['realtime_factor'],
                   help='sim seconds per wall second (default %(default)s)')
    p.add_argument('--no-detector', action='store_true', help='do not start detector_node')
    p.add_argument('--no-slam', action='store_true', help='do not start slam_node')
    p.add_argument('--drive', choices=('explore', 'teleop'), default='explore',
                   help='explore: navigator_node explores (teleop when it is not installed); '
                        'teleop: scripted cmd_vel segments (default %(default)s)')
    p.add_argument('--record-images', type=float, default=1.0, metavar='HZ',
                   help='camera images recorded per sim second, 0 = none (default %(default)s)')
    p.add_argument('--wall-limit', type=float, default=None, metavar='S',
                   help='safety limit in wall seconds (default 120 + 4 x duration / factor)')
    p.add_argument('--stop-timeout', type=float, default=10.0, metavar='S',
                   help='wait this long for nodes to exit after SIGINT, then SIGKILL')
    p.add_argument('--clock-timeout', type=float, default=60.0, metavar='S',
                   help='fail when the sim publishes no clock within this many wall seconds')
    args = p.parse_args(argv)
    if args.duration <= 0:
        p.error('--duration must be > 0 (sim seconds)')
    if args.realtime_factor <= 0:
        p.error('--realtime-factor must be > 0')
    if args.wall_limit is None:
        args.wall_limit = 120.0 + 4.0 * args.duration / args.realtime_factor
    return args


def config_dir():
    """share/nanorover_bringup/config (installed from the top-level config/ by setup.py)."""
    env = os.environ.get('NANOROVER_CONFIG_DIR')
    if env:
        return env
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory('nanorover_bringup'), 'config')
    except (ImportError, LookupError, ValueError):
        return os.path.join(os.getcwd(), 'config')


def camera_pose(cfg_dir):
    try:
        with open(os.path.join(cfg_dir, 'robot.yaml')) as f:
            return dict((yaml.safe_load(f) or {}).get('camera') or {})
    except (IOError, OSError, yaml.YAMLError):
        return {}


def child_env():
    """Environment of the nodes: loopback discovery, this run's domain, unbuffered logs."""
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if not env.get('ROS_DOMAIN_ID'):
        env['ROS_DOMAIN_ID'] = str(random.randint(1, 101))
    env['PYTHONUNBUFFERED'] = '1'
    env['RCUTILS_COLORIZED_OUTPUT'] = '0'
    env.setdefault('RCUTILS_LOGGING_BUFFERED_STREAM', '0')
    return env


class _LineStream(object):
    """tqdm's carriage-return updates as separate lines, for logs (stderr is not a terminal)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s):
        s = s.replace('\r', '').strip('\n')
        if s.strip():
            self.stream.write(s + '\n')

    def flush(self):
        self.stream.flush()


def _progress(duration):
    """One tqdm line on a terminal; on a pipe/log, a plain line every 10 s."""
    from tqdm import tqdm
    tty = sys.stderr.isatty()
    # a pty without a size (script, some CI runners) reports 0 x 0: tqdm would hide the bar
    size = shutil.get_terminal_size((0, 0)) if tty else os.terminal_size((0, 0))
    width = size.columns
    return tqdm(total=round(duration, 1), unit='s', file=sys.stderr if tty else
                _LineStream(sys.stderr), mininterval=0.5 if tty else 10.0,
                bar_format='sim {n:.1f}/{total:.0f} s |{bar:20}| {desc} [{elapsed}]',
                dynamic_ncols=width >= 40, ncols=None if width >= 40 else 110,
                nrows=None if size.lines > 0 else 24)


def _handlers(data, want_scans):
    """Topic handlers filling RunData from deserialised messages."""
    from nanorover_common.map_io import MapInfo
    from nanorover_common.timeutil import from_time_msg
    from nanorover_navigation.geometry import yaw_from_quaternion

    def pose_handler(name):
        def on_odom(msg):
            p = msg.pose.pose
            data.add_pose(name, from_time_msg(msg.header.stamp), p.position.x, p.position.y,
                          yaw_from_quaternion(p.orientation))
        return on_odom

    def on_slam_pose(msg):
        p = msg.pose
        data.add_pose('estimate', from_time_msg(msg.header.stamp), p.position.x, p.position.y,
                      yaw_from_quaternion(p.orientation))

    def on_clock(msg):
        data.sim_time = max(data.sim_time, from_time_msg(msg.clock))

    def on_map(msg):
        info = msg.info
        grid = np.frombuffer(bytes(msg.data), dtype=np.int8)
        if info.width * info.height == 0 or grid.size != info.width * info.height:
            return
        o = info.origin
        data.set_map(grid.reshape(info.height, info.width),
                     MapInfo(info.resolution, (o.position.x, o.position.y,
                                               yaw_from_quaternion(o.orientation))),
                     from_time_msg(msg.header.stamp))
        data.map_known_m2 = map_coverage(data.map_grid, info.resolution)

    def on_detections(msg):
        dets = [{'class_id': int(d.class_id), 'class_name': d.class_name,
                 'score': round(float(d.score), 4), 'x_min': float(d.x_min),
                 'y_min': float(d.y_min), 'x_max': float(d.x_max), 'y_max': float(d.y_max)}
                for d in msg.detections]
        data.add_detections(from_time_msg(msg.header.stamp), msg.header.frame_id,
                            msg.image_width, msg.image_height, dets)

    def on_camera_info(msg):
        data.camera_k = [float(v) for v in msg.k]

    def on_collisions(msg):
        data.collision_messages += 1
        data.collisions = max(data.collisions, int(msg.data))

    def on_nav_status(msg):
        names = dict((getattr(type(msg), n), n) for n in
                     ('IDLE', 'PLANNING', 'FOLLOWING', 'RECOVERING', 'SUCCEEDED', 'FAILED',
                      'EXPLORING') if hasattr(type(msg), n))
        key = names.get(msg.state, str(msg.state))
        data.nav_states[key] = data.nav_states.get(key, 0) + 1

    def on_scan(msg):
        data.last_scan = (msg.ranges, msg.angle_min, msg.angle_increment)

    handlers = {
        'clock': on_clock, 'odom': pose_handler('odometry'),
        'sim/ground_truth': pose_handler('ground_truth'), 'slam/pose': on_slam_pose,
        'map': on_map, 'detections': on_detections, 'camera/camera_info': on_camera_info,
        'sim/collisions': on_collisions, 'navigation/status': on_nav_status,
    }
    if want_scans:
        handlers['scan'] = on_scan
    return handlers


class SimJob(object):
    def __init__(self, args, out_dir):
        self.args = args
        self.out = out_dir
        self.signal = None
        self.exit_code = EXIT_OK
        self.exit_reason = 'completed'
        self.data = RunData()
        self.data.map_known_m2 = 0.0
        self.data.last_scan = None
        self._ros = None          # (context, node, executor) of the recorder while it lives
        self._old_handlers = {}   # signal handlers to put back at the end

    # -- helpers ---------------------------------------------------------------------------------
    def say(self, text):
        bar = getattr(self, 'bar', None)
        if bar is not None and sys.stderr.isatty():
            bar.write('[nanorover sim] %s' % text, file=sys.stderr)
            return
        sys.stderr.write('[nanorover sim] %s\n' % text)
        sys.stderr.flush()

    def _on_signal(self, signum, _frame):
        if self.signal is None:
            self.signal = signum

    def _values(self, link):
        a = self.args
        v = stack.default_args()
        v.update(world=a.world, seed=a.seed, realtime_factor=float(a.realtime_factor),
                 lidar_port=link, slam=not a.no_slam, detector=not a.no_detector,
                 navigation=a.drive == 'explore', explore=a.drive == 'explore')
        return v

    # -- the run ---------------------------------------------------------------------------------
    def run(self):
        a = self.args
        cfg = config_dir()
        env = child_env()
        os.environ['ROS_DOMAIN_ID'] = env['ROS_DOMAIN_ID']
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        link_dir = tempfile.mkdtemp(prefix='nanorover_sim_')
        link = self.link = os.path.join(link_dir, 'g4')
        values = self._values(link)
        rows = resolve.plan(values, cfg)
        by_name = dict((r.spec.name, r) for r in rows)
        nav = by_name.get('navigator_node')
        self.teleop = a.drive == 'teleop' or nav is None or nav.status != 'run'
        drive = 'teleop' if self.teleop else 'explore'
        if a.drive == 'explore' and self.teleop:
            self.say('navigator_node is not installed: driving with the scripted teleop')
        self.say('run folder %s, world %s, seed %d, %.0f sim s at x%.2f, ROS_DOMAIN_ID=%s, '
                 'config %s' % (self.out, a.world, a.seed, a.duration, a.realtime_factor,
                                env['ROS_DOMAIN_ID'], cfg))
        for r in rows:
            self.say('  %-16s %-8s %s' % (r.spec.name, r.status, r.reason or ' '.join(
                os.path.basename(c) if i == 0 else c for i, c in enumerate(r.cmd))))
        meta = {
            'world': a.world, 'seed': a.seed, 'duration': a.duration,
            'realtime_factor': a.realtime_factor, 'drive': drive,
            'ros_domain_id': int(env['ROS_DOMAIN_ID']), 'config_dir': cfg,
            'nodes_run': [r.spec.name for r in rows if r.status == 'run'],
            'nodes_missing': dict((r.spec.name, r.reason) for r in rows if r.status == 'missing'),
            'nodes_disabled': dict((r.spec.name, r.reason) for r in rows
                                   if r.status == 'disabled'),
        }
        missing_required = [r.spec.name for r in rows if r.spec.required and r.status != 'run']
        wall_start = time.monotonic()
        try:
            if missing_required:
                self.exit_code = EXIT_SETUP
                self.exit_reason = 'required node(s) not installed: %s (run make build)' % (
                    ', '.join(missing_required))
                self.say('ERROR: ' + self.exit_reason)
            else:
                self._run_stack(rows, env, meta)
        finally:
            try:
                shutil.rmtree(link_dir, ignore_errors=True)
                meta.update(exit_code=self.exit_code, exit_reason=self.exit_reason,
                            wall_time_s=round(time.monotonic() - wall_start, 1))
                summary = self._write(meta)
                self._report(summary)
            finally:
                # the run folder is on disk before the DDS participant goes: whatever happens
                # in the middleware's teardown, nothing collected is lost
                self._close_ros()
        return self.exit_code

    def _run_stack(self, rows, env, meta):
        import rclpy
        from geometry_msgs.msg import Twist
        from rclpy.signals import SignalHandlerOptions

        from rclpy.executors import SingleThreadedExecutor

        from nanorover_bringup.recorder import RECORDED_TOPICS, McapRawWriter, Recorder, Topic
        from nanorover_bringup.teleop import ScriptedTeleop
        from nanorover_common.qos import RELIABLE_QOS

        a = self.args
        topics = []
        for t in RECORDED_TOPICS:
            if t.name == 'camera/image_raw':
                if a.record_images <= 0:
                    continue
                t = Topic(t.name, t.datatype, t.qos, a.record_images)
            topics.append(t)
        ctx = rclpy.Context()
        rclpy.init(context=ctx, domain_id=int(env['ROS_DOMAIN_ID']),
                   signal_handler_options=SignalHandlerOptions.NO)
        self._ros = (ctx, None, None)
        self._old_handlers = dict((s, signal.signal(s, self._on_signal))
                                  for s in (signal.SIGINT, signal.SIGTERM))
        node = rclpy.create_node('nanorover_sim_job', context=ctx)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        self._ros = (ctx, node, executor)
        sup = Supervisor(os.path.join(self.out, 'logs'), env)
        recorder = None
        bar = None
        try:
            writer = McapRawWriter(os.path.join(self.out, 'recording.mcap'))
            writer.add_metadata('nanorover_sim', {'world': a.world, 'seed': a.seed,
                                                  'duration': a.duration,
                                                  'realtime_factor': a.realtime_factor})
            data = self.data
            recorder = self.recorder = Recorder(node, writer, topics,
                                                _handlers(data, self.teleop),
                                                clock_ns=lambda: int(data.sim_time * 1e9))
            for name, why in sorted(recorder.skipped.items()):
                self.say('not recording %s (%s)' % (name, why))
            cmd_pub = node.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS) \
                if self.teleop else None
            teleop = ScriptedTeleop() if self.teleop else None
            run = [r for r in rows if r.status == 'run']
            names = [r.spec.name for r in run]
            sup.start('sim_node', run[names.index('sim_node')].cmd)
            if stack.WAITS_FOR_LIDAR_PORT in names:
                self._wait_for_link(executor, sup)
            for r in run:
                if r.spec.name != 'sim_node':
                    sup.start(r.spec.name, r.cmd)
            bar = self.bar = _progress(a.duration)
            self._loop(executor, sup, bar, teleop, cmd_pub, Twist)
            if cmd_pub is not None:
                cmd_pub.publish(Twist())  # stop the robot before the nodes go
        except NodeDied as exc:
            self.exit_code = EXIT_NODE_DIED
            self.exit_reason = 'node %s died (exit code %s)' % (exc.name, exc.returncode)
            self.bar = None
            if bar is not None:
                bar.close()
                bar = None
            self.say('ERROR: ' + exc.describe())
        except _RunError as exc:
            self.exit_code = exc.code
            self.exit_reason = str(exc)
            self.say('ERROR: %s' % exc)
        except BaseException as exc:
            self.exit_code = EXIT_INTERNAL
            self.exit_reason = 'internal error: %s: %s' % (type(exc).__name__, exc)
            raise
        finally:
            self.bar = None
            if bar is not None:
                bar.n = round(min(self.data.sim_time, a.duration), 1)
                bar.refresh()
                bar.close()
            codes = sup.stop_all(a.stop_timeout)
            meta['node_exit_codes'] = codes
            if getattr(sup, 'killed', None):
                meta['nodes_killed_after_timeout'] = sup.killed
                self.say('had to SIGKILL: %s' % ', '.join(sup.killed))
            if recorder is not None:
                meta['topic_counts'] = dict(recorder.counts)
                meta['topics_not_recorded'] = dict(recorder.skipped)
                recorder.close()

    def _close_ros(self):
        """Executor, node and context of the recorder go (after the run folder is written)."""
        ros, self._ros = self._ros, None
        try:
            if ros is not None:
                import rclpy
                ctx, node, executor = ros
                try:
                    if executor is not None:
                        executor.shutdown()
                    if node is not None:
                        node.destroy_node()
                finally:
                    rclpy.try_shutdown(context=ctx)
        finally:
            for s, h in self._old_handlers.items():
                signal.signal(s, h)
            self._old_handlers = {}

    def _wait_for_link(self, executor, sup):
        """The lidar driver opens the sim's pty through the link: wait until the sim made it."""
        path = self.link
        deadline = time.monotonic() + 30.0
        while not os.path.exists(path):
            if self.signal is not None:
                raise _RunError(128 + self.signal, 'interrupted while starting')
            sup.check()
            if time.monotonic() > deadline:
                raise _RunError(EXIT_NODE_DIED, 'sim_node did not create the lidar port link %s '
                                'within 30 s (parameter lidar_port_link)' % path)
            executor.spin_once(timeout_sec=0.1)

    def _loop(self, executor, sup, bar, teleop, cmd_pub, twist_cls):
        a = self.args
        data = self.data
        start = time.monotonic()
        last_cmd_t = -1.0
        last_bar = 0.0
        milestones = [('clock', 'sim clock running'), ('sim/ground_truth', 'first ground truth'),
                      ('scan', 'first scan from the lidar driver'),
                      ('map', 'first map from SLAM'), ('detections', 'first detections'),
                      ('navigation/status', 'first navigation status')]
        while True:
            executor.spin_once(timeout_sec=0.05)
            sup.check()
            now = time.monotonic()
            if self.signal is not None:
                name = signal.Signals(self.signal).name
                self.exit_code = 128 + self.signal
                self.exit_reason = 'interrupted by %s at sim time %.1f s' % (name, data.sim_time)
                self.say(self.exit_reason + ': stopping the nodes, writing the run folder')
                return
            for m in list(milestones):
                if self.recorder.counts.get(m[0], 0) > 0:
                    milestones.remove(m)
                    self.say('%s after %.1f s (sim time %.1f s)' % (m[1], now - start,
                                                                    data.sim_time))
            if data.sim_time >= a.duration:
                return
            if now - start > a.wall_limit:
                raise _RunError(EXIT_WALL_LIMIT, 'wall-time limit %.0f s reached at sim time '
                                '%.1f of %.1f s (machine too slow? lower --duration or raise '
                                '--wall-limit)' % (a.wall_limit, data.sim_time, a.duration))
            if data.sim_time == 0.0 and now - start > a.clock_timeout:
                raise _RunError(EXIT_NODE_DIED, 'sim_node published no clock within %.0f s'
                                % a.clock_timeout)
            if teleop is not None and data.sim_time - last_cmd_t >= 0.1:
                last_cmd_t = data.sim_time
                v, w = teleop.command(data.sim_time, data.last_scan)
                msg = twist_cls()
                msg.linear.x, msg.angular.z = float(v), float(w)
                cmd_pub.publish(msg)
            if now - last_bar >= (0.5 if sys.stderr.isatty() else 10.0):
                last_bar = now
                bar.n = round(min(data.sim_time, a.duration), 1)
                bar.set_description_str('scans %d  map %.1f m2  collisions %d' % (
                    self.recorder.counts.get('scan', 0), data.map_known_m2, data.collisions),
                    refresh=False)
                bar.refresh()

    def _write(self, meta):
        world = None
        try:
            from nanorover_sim.world import load_world
            world = load_world(self.args.world)
        except Exception as exc:  # noqa: BLE001 - the overview works without the world
            meta['world_objects_note'] = 'world not loaded: %s' % exc
        self.data.scans = meta.get('topic_counts', {}).get('scan', 0)
        return write_run_folder(self.out, self.data, meta, world, camera_pose(config_dir()))

    def _report(self, s):
        def fmt(v, unit=''):
            return '-' if v is None else '%s%s' % (v, unit)
        self.say('sim time %.1f s, scans %d, map %.1f m2, ATE slam %s / odometry %s, collisions '
                 '%d, detections %s' % (s['sim_time_reached'], s['scans_received'],
                                        s['map_coverage_m2'], fmt(s['ate_slam_m'], ' m'),
                                        fmt(s['ate_odometry_m'], ' m'), s['collisions'],
                                        s['detections_per_class'] or 'none'))
        self.say('nodes run: %s; missing: %s' % (', '.join(s['nodes_run']) or 'none',
                                                 ', '.join(sorted(s['nodes_missing'])) or 'none'))
        self.say('%s: %s -> %s' % ('done' if self.exit_code == 0 else 'FAILED (exit %d)'
                                   % self.exit_code, self.exit_reason, self.out))


class _RunError(RuntimeError):
    def __init__(self, code, message):
        RuntimeError.__init__(self, message)
        self.code = code


def main(argv=None):
    # a native crash (rcl, the DDS, a C extension) still says where it happened
    if not faulthandler.is_enabled():
        faulthandler.enable()
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    out = os.path.abspath(args.out or os.path.join('runs', time.strftime('%Y%m%d-%H%M%S')))
    if not os.path.isdir(out):
        os.makedirs(out)
    return SimJob(args, out).run()


if __name__ == '__main__':
    sys.exit(main())
