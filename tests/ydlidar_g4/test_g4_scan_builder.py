"""Revolution -> fixed-beam LaserScan ranges (ROS-free)."""
import math

import numpy as np
import pytest

from ydlidar_g4.emulator import device_to_laser_rad
from ydlidar_g4.protocol import Revolution
from ydlidar_g4.scan_builder import (ScanBuilder, ScanConfig, device_to_laser,
                                     parse_ignore_array)


def rev_from_world(fn, n=900):
    """A revolution as the device reports it for a laser-frame world ``fn(theta) -> range``."""
    dev = np.arange(n) * 360.0 / n
    theta = device_to_laser_rad(dev)
    return Revolution(dev, np.asarray(fn(theta), dtype=np.float32), 10.0, t_end=0.0)


def beam_angles(scan):
    return scan.angle_min + np.arange(scan.ranges.size) * scan.angle_increment


def test_device_to_laser_is_the_emulator_inverse():
    dev = np.linspace(0, 359.9, 1000)
    assert np.allclose(device_to_laser(dev), device_to_laser_rad(dev))
    # the device's zero points backwards and it counts clockwise (seen from above):
    # device 0 -> laser 180 (back), 90 -> +90 (left), 180 -> 0 (front), 270 -> -90 (right)
    got = np.degrees(device_to_laser([0.0, 90.0, 180.0, 270.0]))
    assert np.allclose(np.mod(got[0], 360), 180) and np.allclose(got[1:], [90, 0, -90])


def test_fixed_beam_count_and_not_mirrored():
    # a 1 m wall everywhere, a 0.5 m post only around +90 deg (left, REP 103)
    def world(theta):
        return np.where(np.abs(theta - math.pi / 2) < math.radians(5), 0.5, 1.0)
    b = ScanBuilder(ScanConfig(beams=720))
    for n in (850, 900, 950):
        scan = b.build(rev_from_world(world, n), 10.0)
        assert scan.ranges.size == 720
    ang = np.degrees(beam_angles(scan))
    left = scan.ranges[np.abs(ang - 90) < 3]
    right = scan.ranges[np.abs(ang + 90) < 3]
    assert np.allclose(left, 0.5) and np.allclose(right, 1.0)


@pytest.mark.parametrize('inverted,reversion', [(False, True), (False, False), (True, False)])
def test_wrong_conversion_flags_misplace_an_asymmetric_feature(inverted, reversion):
    # a post at +60 deg: any mirror or 180 deg turn moves it
    def world(theta):
        return np.where(np.abs(theta - math.radians(60)) < math.radians(5), 0.5, 1.0)
    ok = ScanBuilder(ScanConfig()).build(rev_from_world(world), 10.0)
    bad = ScanBuilder(ScanConfig(inverted=inverted, reversion=reversion)).build(
        rev_from_world(world), 10.0)
    sector = np.abs(np.degrees(beam_angles(ok)) - 60) < 3
    assert np.allclose(ok.ranges[sector], 0.5)
    assert np.allclose(bad.ranges[sector], 1.0)


def test_range_limits_invalid_and_defaults():
    cfg9 = ScanConfig(sample_rate_khz=9)
    assert (cfg9.range_min, cfg9.range_max) == (0.28, 16.0)
    assert ScanConfig(sample_rate_khz=4).range_min == 0.10
    assert ScanConfig(sample_rate_khz=8, range_min=0.5, range_max=8).range_min == 0.5

    def world(theta):
        return np.where(theta > 0, 0.2, 0.0)   # too close on the left, no return on the right
    for inf, fill in ((True, np.inf), (False, 0.0)):
        scan = ScanBuilder(ScanConfig(invalid_range_is_inf=inf)).build(rev_from_world(world),
                                                                       10.0)
        assert np.all(scan.ranges == fill)


def test_ignore_array_and_angle_window():
    scan = ScanBuilder(ScanConfig(ignore_array='-10,10', angle_min_deg=-90,
                                  angle_max_deg=90, beams=181)).build(
        rev_from_world(lambda t: np.full(t.shape, 2.0)), 10.0)
    ang = np.degrees(beam_angles(scan))
    assert scan.ranges.size == 181 and ang[0] == pytest.approx(-90) and ang[-1] == pytest.approx(90)
    assert np.all(np.isinf(scan.ranges[np.abs(ang) < 9]))
    assert np.allclose(scan.ranges[np.abs(ang) > 11], 2.0)


@pytest.mark.parametrize('text', ['1,2,3', 'a,b', '20,10', '-200,0'])
def test_bad_ignore_array_has_a_reason(text):
    with pytest.raises(ValueError) as err:
        parse_ignore_array(text)
    assert 'ignore_array' in str(err.value)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError):
        ScanConfig(angle_min_deg=10, angle_max_deg=-10)
    with pytest.raises(ValueError):
        ScanConfig(range_min=5, range_max=2)


def test_timing_from_measured_rate():
    scan = ScanBuilder(ScanConfig()).build(rev_from_world(lambda t: np.ones(t.shape), 900), 8.0)
    assert scan.scan_time == pytest.approx(0.125)
    assert scan.time_increment == pytest.approx(0.125 / 900)
    assert scan.first_ray_age == pytest.approx(0.125 - 0.125 / 900)
