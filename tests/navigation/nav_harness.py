"""ROS-free closed loop for the navigator tests and bench_navigation.py.

Truth: a nanorover_sim World (walls + objects + unknown block), DiffDrive (velocity/acceleration
limits, collision counting), cast_rays (the lidar). The navigator gets the true pose (localisation
is the SLAM's job), live scans, and either a known map or a map built from the scans by the SLAM's
log-odds OccupancyGrid (exploration).
"""
import math

import numpy as np

from nanorover_common.map_io import MapInfo
from nanorover_navigation.navigator import FAILED, SUCCEEDED
from nanorover_navigation.occupancy import OccupancyGrid
from nanorover_sim.diffdrive import DiffDrive, load_robot_config  # noqa: F401 (re-export)
from nanorover_sim.raycast import cast_rays
from nanorover_sim.world import World

TERMINAL = (SUCCEEDED, FAILED)


def make_world(grid, res=0.05, origin=(0.0, 0.0), start=(0.5, 0.5, 0.0), name='synthetic'):
    return World(name, np.asarray(grid, dtype=np.int8), MapInfo(res, (origin[0], origin[1], 0.0)),
                 (), start)


def room_grid(width, height, res=0.05):
    """int8 grid of an empty room [0, width] x [0, height] (origin 0, 0) with 1-cell walls."""
    rows, cols = int(round(height / res)), int(round(width / res))
    grid = np.zeros((rows, cols), dtype=np.int8)
    grid[0, :] = grid[-1, :] = 100
    grid[:, 0] = grid[:, -1] = 100
    return grid


class ClosedLoop(object):
    """Steps navigator + simulated robot together at ``dt``; scans every ``scan_every`` steps."""

    def __init__(self, world, robot_cfg, nav, start=None, dt=0.05, scan_every=4, n_beams=240,
                 scan_range=3.5, mapper=False, map_every=5, seed=0):
        self.world = world
        self.cfg = robot_cfg
        self.nav = nav
        self.dt = dt
        self.scan_every = scan_every
        self.scan_range = scan_range
        self.angles = np.linspace(-math.pi, math.pi, n_beams, endpoint=False)
        self.lidar = robot_cfg['lidar']
        self.drive = DiffDrive(robot_cfg, seed=seed, slip=(0.0, 0.0), world=world,
                               start=start if start is not None else world.start_pose)
        self.mapper = OccupancyGrid(world.info.resolution) if mapper else None
        self.map_every = map_every
        self.t = 0.0
        self.steps = 0
        self.n_scans = 0
        self.commands = []   # (t, v, w) as commanded
        self.poses = []      # true pose after each step

    def laser_pose(self):
        x, y, th = self.drive.pose
        c, s = math.cos(th), math.sin(th)
        return (x + c * self.lidar['x'] - s * self.lidar['y'],
                y + s * self.lidar['x'] + c * self.lidar['y'], th + self.lidar['yaw'])

    def scan(self):
        lx, ly, lth = self.laser_pose()
        ranges = cast_rays(self.world, None, lx, ly, self.angles + lth, self.scan_range)
        if self.mapper is not None:
            ang = self.angles + lth
            pts = np.stack([lx + ranges * np.cos(ang), ly + ranges * np.sin(ang)], axis=1)
            hit = ranges < self.scan_range
            self.mapper.integrate((lx, ly), pts[hit], pts[~hit])
            if self.n_scans % self.map_every == 0:
                info = self.mapper.info()
                self.nav.set_map(self.mapper.to_grid(), info.resolution, info.origin)
        self.nav.add_scan(self.drive.pose, ranges, -math.pi, 2 * math.pi / len(self.angles),
                          0.12, self.scan_range)
        self.n_scans += 1

    def step(self):
        if self.steps % self.scan_every == 0:
            self.scan()
        v, w = self.nav.step(self.t, self.drive.pose, dt=self.dt)
        self.commands.append((self.t, v, w))
        self.drive.step(v, w, self.dt)
        self.poses.append(self.drive.pose)
        self.t += self.dt
        self.steps += 1
        return v, w

    def run(self, max_time):
        """Step until the navigator is SUCCEEDED/FAILED or ``max_time`` s passed; returns the
        elapsed simulated time."""
        t0 = self.t
        while self.t - t0 < max_time:
            self.step()
            if self.nav.status.state in TERMINAL:
                break
        return self.t - t0
