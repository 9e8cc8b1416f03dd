"""The motor-controller emulator behaves like the firmware (no ROS): encoder integration, watchdog."""
import os

import pytest
import serial

from conftest import wait_for
from nanorover_base import protocol as P
from nanorover_base.emulator import MotorControllerEmulator


@pytest.fixture
def emu():
    e = MotorControllerEmulator(ticks_per_rev=1320, encoder_rate=50.0, watchdog=0.3).start()
    yield e
    e.close()


def test_commanded_speed_integrates_into_encoder_frames(emu):
    port = serial.Serial(emu.port, 115200, timeout=0.05)
    parser = P.Parser()
    encoders = []

    def drive_and_read():
        port.write(P.encode_wheel_cmd(2.0, -1.0))      # keeps the watchdog fed
        encoders.extend(f.fields for f in parser.feed(port.read(512)) if f.type == P.ENCODER)
        return len(encoders) >= 20
    wait_for(drive_and_read, 15.0, 'encoder frames')
    (l0, r0, t0), (l1, r1, t1) = encoders[2], encoders[-1]
    dt = ((t1 - t0) % 2 ** 32) * 1e-6
    k = 1320 / (2 * 3.141592653589793)
    assert (l1 - l0) / dt == pytest.approx(2.0 * k, rel=0.1)
    assert (r1 - r0) / dt == pytest.approx(-1.0 * k, rel=0.1)
    port.close()


def test_firmware_watchdog_stops_the_motors(emu):
    port = serial.Serial(emu.port, 115200, timeout=0.05)
    port.write(P.encode_wheel_cmd(3.0, 3.0))
    wait_for(lambda: emu.speeds == (3.0, 3.0), 10.0, 'command applied')
    # the emulator thread sets speeds, then the trip count: wait on the last of the two
    wait_for(lambda: emu.watchdog_trips == 1, 10.0, 'watchdog stop')
    assert emu.speeds == (0.0, 0.0)
    parser = P.Parser()
    wait_for(lambda: any(f.type == P.STATUS and f.fields[0] & P.STATUS_WATCHDOG
                         for f in parser.feed(port.read(512))), 10.0, 'STATUS watchdog frame')
    port.close()


def test_link_symlink_points_to_the_pty(tmp_path):
    link = str(tmp_path / 'base')
    with MotorControllerEmulator(link=link) as e:
        assert os.path.realpath(link) == os.path.realpath(e.port)
    assert not os.path.lexists(link)
