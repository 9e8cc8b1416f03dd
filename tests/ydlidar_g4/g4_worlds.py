"""Shared pieces of the ydlidar_g4 tests."""
import math

import numpy as np
import pytest


def box_world(theta, t=0.0):
    """A 4 x 3 m room, the sensor 0.5 m ahead of its centre (front wall 1.5 m, back wall 2.5 m,
    side walls 1.5 m), a 0.6 m post at +90 deg (left): any mirror or turn of the scan shows."""
    c, s = np.cos(theta), np.abs(np.sin(theta))
    with np.errstate(divide='ignore', invalid='ignore'):
        rx = np.where(c > 1e-9, 1.5 / c, np.where(c < -1e-9, -2.5 / c, np.inf))
        ry = np.where(s > 1e-9, 1.5 / s, np.inf)
    return np.where(np.abs(theta - math.pi / 2) < math.radians(6), 0.6, np.minimum(rx, ry))


@pytest.fixture
def emu(tmp_path):
    from ydlidar_g4.emulator import G4Emulator
    e = G4Emulator(box_world, sample_rate_khz=9, frequency_hz=10.0,
                   link_path=str(tmp_path / 'ydlidar'))
    e.start()
    yield e
    e.stop()
