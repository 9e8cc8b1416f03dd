"""Simulated YDLIDAR G4 measurements: ray casting from the laser pose + G4-like noise and dropouts.

The ranges feed the G4 emulator (ydlidar_g4.emulator.G4Emulator) as its ``range_fn``; the emulator
turns them into the G4's serial packets on a pty and the real driver decodes them.

Error model (seeded): Gaussian range noise with std = noise_std_m + noise_rel x range; no return (0)
beyond the G4's 16 m or closer than its minimum range for the sample rate; random dropouts with
probability ``dropout``; grazing returns (incidence beyond ``grazing_deg``) drop out with probability
``grazing_dropout``.
"""
import math

import numpy as np

from nanorover_sim.raycast import cast_rays

RANGE_MAX = 16.0
RANGE_MIN_BY_RATE = {4: 0.10, 8: 0.26, 9: 0.28}


class LidarModel(object):
    def __init__(self, world, robot_cfg, seed=0, sample_rate_khz=9, noise_std_m=0.008,
                 noise_rel=0.004, dropout=0.005, grazing_deg=78.0, grazing_dropout=0.5):
        lid = robot_cfg.get('lidar', robot_cfg)
        self.world = world
        self.offset = (float(lid.get('x', 0.0)), float(lid.get('y', 0.0)), float(lid.get('yaw', 0.0)))
        self.rng = np.random.default_rng(seed)
        self.range_min = RANGE_MIN_BY_RATE.get(int(sample_rate_khz), 0.28)
        self.range_max = RANGE_MAX
        self.noise_std_m = float(noise_std_m)
        self.noise_rel = float(noise_rel)
        self.dropout = float(dropout)
        self.cos_grazing = math.cos(math.radians(grazing_deg))
        self.grazing_dropout = float(grazing_dropout)

    def laser_pose(self, robot_pose):
        x, y, yaw = robot_pose
        ox, oy, oyaw = self.offset
        c, s = math.cos(yaw), math.sin(yaw)
        return x + c * ox - s * oy, y + s * ox + c * oy, yaw + oyaw

    def true_ranges(self, robot_pose, angles_laser):
        """Exact distances (m) along laser_frame angles (CCW, 0 forward); range_max if no hit."""
        lx, ly, lyaw = self.laser_pose(robot_pose)
        return cast_rays(self.world, None, lx, ly, lyaw + np.asarray(angles_laser), self.range_max)

    def ranges(self, robot_pose, angles_laser, noise=True):
        """Measured distances (m): noise and dropouts applied; 0 = no return (as the G4 reports)."""
        angles_laser = np.asarray(angles_laser, dtype=np.float64)
        lx, ly, lyaw = self.laser_pose(robot_pose)
        world_angles = lyaw + angles_laser
        d, _, _, nx, ny = cast_rays(self.world, None, lx, ly, world_angles, self.range_max,
                                    with_cells=True)
        out = d.copy()
        n = out.size
        if noise and n:
            rng = self.rng
            std = self.noise_std_m + self.noise_rel * d
            out = out + rng.standard_normal(n).reshape(out.shape) * std
            drop = rng.random(n).reshape(out.shape) < self.dropout
            if self.grazing_dropout > 0:
                cos_inc = np.abs(nx * np.cos(world_angles) + ny * np.sin(world_angles))
                grazing = cos_inc < self.cos_grazing
                drop |= grazing & (rng.random(n).reshape(out.shape) < self.grazing_dropout)
            out[drop] = 0.0
        out[(d >= self.range_max) | (out < self.range_min)] = 0.0
        return out
