"""The ROS-free simulator core: world + diff-drive robot + sim clock + lidar (G4 emulator) + camera.

Sim time starts at 0 and advances by ``1 / rate`` per ``step()``; whoever drives the engine decides
how sim time relates to wall time (sim_node paces it by its realtime factor; tests and batch jobs may
step it as fast as they like).  Every sensor is a function of sim time, so results do not depend on
the machine's load.
"""
import bisect
import collections
import math
import threading

from nanorover_sim.camera import CameraModel, Renderer
from nanorover_sim.diffdrive import DEFAULT_SLIP, DiffDrive, load_robot_config, wrap
from nanorover_sim.lidar import LidarModel
from nanorover_sim.world import World, load_world


class SimEngine(object):
    def __init__(self, world, robot_cfg=None, seed=0, rate=100.0, slip=DEFAULT_SLIP,
                 cmd_timeout=0.5, camera_size=None, lidar_options=None, start_pose=None):
        self.world = world if isinstance(world, World) else load_world(world)
        self.robot_cfg = robot_cfg if robot_cfg is not None else load_robot_config()
        self.seed = int(seed)
        self.rate = float(rate)
        if self.rate <= 0:
            raise ValueError('rate must be > 0 Hz, got %r' % rate)
        self.dt = 1.0 / self.rate
        self.cmd_timeout = float(cmd_timeout)
        self.robot = DiffDrive(self.robot_cfg, seed=self.seed, slip=slip, world=self.world,
                               start=start_pose)
        self.lidar = LidarModel(self.world, self.robot_cfg, seed=self.seed + 1,
                                **(lidar_options or {}))
        self.camera_model = CameraModel.from_robot_config(
            self.robot_cfg, *(camera_size or (None, None)))
        self._renderer = None
        self.steps = 0
        self._time = 0.0
        self._cmd = (0.0, 0.0)
        self._cmd_time = None
        self._lock = threading.Lock()
        self._hist_t = collections.deque(maxlen=int(self.rate * 4) + 2)
        self._hist_p = collections.deque(maxlen=int(self.rate * 4) + 2)
        self._record()
        self.emulator = None

    # -- clock ---------------------------------------------------------------------------------
    @property
    def time(self):
        return self._time

    def clock(self):
        """Sim seconds (thread-safe; the G4 emulator paces its packets with it)."""
        return self._time

    # -- commands and stepping -------------------------------------------------------------------
    def set_cmd(self, v, w):
        """New velocity command (m/s, rad/s), stamped with the current sim time; a non-finite value
        is rejected (ValueError) and the previous command kept."""
        v, w = float(v), float(w)
        if not (math.isfinite(v) and math.isfinite(w)):
            raise ValueError('non-finite velocity command (%r, %r)' % (v, w))
        self._cmd = (v, w)
        self._cmd_time = self._time

    @property
    def cmd(self):
        """The command in force: zero when none came within cmd_timeout (sim seconds)."""
        if self._cmd_time is None or self._time - self._cmd_time > self.cmd_timeout:
            return (0.0, 0.0)
        return self._cmd

    def step(self, n=1):
        """Advance n steps of dt; returns the number of new collisions."""
        before = self.robot.collisions
        for _ in range(int(n)):
            v, w = self.cmd
            self.robot.step(v, w, self.dt)
            self.steps += 1
            self._time = self.steps * self.dt
            self._record()
        return self.robot.collisions - before

    def _record(self):
        with self._lock:
            self._hist_t.append(self._time)
            self._hist_p.append(self.robot.pose)

    def pose_at(self, t):
        """True robot pose at sim time t, interpolated in the recent history (clamped at its ends)."""
        with self._lock:
            ts = list(self._hist_t)
            ps = list(self._hist_p)
        i = bisect.bisect_left(ts, t)
        if i <= 0:
            return ps[0]
        if i >= len(ts):
            return ps[-1]
        t0, t1 = ts[i - 1], ts[i]
        a = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        p0, p1 = ps[i - 1], ps[i]
        dyaw = wrap(p1[2] - p0[2])
        return (p0[0] + a * (p1[0] - p0[0]), p0[1] + a * (p1[1] - p0[1]), p0[2] + a * dyaw)

    # -- sensors -----------------------------------------------------------------------------------
    def lidar_range_fn(self, angles_rad, t):
        """range_fn of the G4 emulator: laser_frame angles (CCW, 0 forward) at sim time t -> m."""
        return self.lidar.ranges(self.pose_at(t), angles_rad)

    @property
    def renderer(self):
        if self._renderer is None:
            self._renderer = Renderer(self.world, self.camera_model, seed=self.seed + 2)
        return self._renderer

    def render(self, noise=True):
        return self.renderer.render(self.robot.pose, noise=noise)

    def start_lidar(self, link_path=None, frequency_hz=10.0, sample_rate_khz=9):
        """Start a G4 emulator on a pty fed by this engine (ImportError when ydlidar_g4 is absent)."""
        from ydlidar_g4.emulator import G4Emulator
        self.emulator = G4Emulator(self.lidar_range_fn, sample_rate_khz=sample_rate_khz,
                                   frequency_hz=frequency_hz, seed=self.seed + 3, clock=self.clock,
                                   noise_std_m=0.0, link_path=link_path)
        self.emulator.start()
        return self.emulator

    def stop(self):
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
