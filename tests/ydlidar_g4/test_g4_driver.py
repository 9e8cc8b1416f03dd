"""Driver <-> G4 emulator over a real pseudo-terminal (no ROS)."""
import io
import json
import threading
from contextlib import redirect_stdout

import numpy as np
import pytest

from conftest import wait_for
from g4_worlds import box_world, emu  # noqa: F401 (emu is a fixture)
from ydlidar_g4 import cli
from ydlidar_g4 import protocol as P
from ydlidar_g4.driver import G4Driver
from ydlidar_g4.scan_builder import device_to_laser


class ListLog(object):
    def __init__(self):
        self.records = []
        self._lock = threading.Lock()

    def _add(self, level, msg):
        with self._lock:
            self.records.append((level, msg))

    def debug(self, m):
        self._add('debug', m)

    def info(self, m):
        self._add('info', m)

    def warning(self, m):
        self._add('warning', m)

    def error(self, m):
        self._add('error', m)

    def errors(self):
        return [m for lvl, m in self.records if lvl == 'error']

    def infos(self):
        return [m for lvl, m in self.records if lvl == 'info']


@pytest.fixture
def make_driver():
    made = []

    def _make(port, **kw):
        revs = []
        log = ListLog()
        opts = dict(frequency=10.0, sample_rate=9, silence_timeout=1.0, backoff_initial=0.1,
                    backoff_max=0.4, logger=log, on_revolution=revs.append)
        opts.update(kw)
        d = G4Driver(port, **opts)
        d.revs, d.test_log = revs, log
        made.append(d)
        return d.start()

    yield _make
    for d in made:
        d.close()


def n_revs(d, n):
    return lambda: len(d.revs) >= n


def test_startup_sets_rate_and_frequency_and_streams(tmp_path, make_driver):
    from ydlidar_g4.emulator import G4Emulator
    emu = G4Emulator(box_world, sample_rate_khz=4, frequency_hz=10.0,
                     link_path=str(tmp_path / 'lidar')).start()
    try:
        d = make_driver(emu.port, frequency=7.3, sample_rate=9)
        wait_for(n_revs(d, 3), 15, 'three revolutions')
        assert emu.commands[:2] == [P.CMD_STOP_PRE, P.CMD_STOP]       # stop first
        assert emu.commands[2] == P.CMD_HEALTH
        assert P.CMD_SAMPLE_RATE_CYCLE in emu.commands
        assert emu.sample_rate_khz == 9 and d.sample_rate_reported == 9
        assert emu.frequency_hz == pytest.approx(7.3) and d.frequency_reported == pytest.approx(7.3)
        assert d.device_info['model_name'] == 'G4' and d.device_info['firmware'] == '3.2'
        assert d.health['status'] == 0
        # 9 kHz / 7.3 Hz -> ~1233 samples a revolution, CT frequency reported
        assert all(abs(len(r) - 9000 / 7.3) < 3 for r in d.revs[:3])
        assert d.revs[0].ct_hz == pytest.approx(7.3, abs=0.05)
        assert d.measured_hz == pytest.approx(7.3, abs=0.05)
        assert d.test_log.errors() == []
    finally:
        emu.stop()


def test_revolution_matches_the_world(emu, make_driver):
    d = make_driver(emu.port)
    wait_for(n_revs(d, 2), 15, 'revolutions')
    rev = d.revs[-1]
    theta = device_to_laser(rev.angles_deg)
    want = box_world(theta)
    err = np.abs(rev.ranges_m - want)
    # a few mm (angle/distance quantisation) except at the post's edges
    assert np.mean(err < 0.005) > 0.98, np.percentile(err, [50, 90, 99])
    assert d.parser.stats.checksum_errors == 0


def test_faults_are_survived(emu, make_driver):
    d = make_driver(emu.port)
    wait_for(n_revs(d, 1), 15, 'first revolution')
    emu.inject(noise_bytes=500, bad_checksum_rate=0.2)
    n = len(d.revs)
    wait_for(n_revs(d, n + 5), 15, 'revolutions with bad checksums')
    assert d.parser.stats.checksum_errors > 0 and d.parser.stats.bytes_dropped >= 500
    emu.inject(bad_checksum_rate=0.0, drop_zero_packets=True)
    wait_for(lambda: d.parser.stats.partial_dropped > 0 or
             any(len(r) > 1500 for r in d.revs[n:]), 15, 'lost zero packets noticed')
    emu.inject(drop_zero_packets=False)
    n = len(d.revs)
    wait_for(n_revs(d, n + 3), 15, 'revolutions again')
    assert abs(len(d.revs[-1]) - 900) <= 2
    assert d.test_log.errors() == [] and d.reconnects == 0


def test_unplug_replug_recovers_with_one_error(emu, make_driver):
    d = make_driver(emu.port)
    wait_for(n_revs(d, 2), 15, 'revolutions')
    emu.unplug()
    wait_for(lambda: d.state == 'reconnecting', 10, 'unplug noticed')
    wait_for(lambda: len([m for lvl, m in d.test_log.records if lvl == 'debug']) >= 2, 10,
             'several failed reconnect attempts')
    n = len(d.revs)
    emu.replug()
    wait_for(n_revs(d, n + 3), 15, 'revolutions after replug')
    assert d.reconnects == 1
    errors = d.test_log.errors()
    assert len(errors) == 1 and 'unplugged' in errors[0], errors
    assert any('recovered' in m for m in d.test_log.infos())


def test_health_error_is_one_clear_error(emu, make_driver):
    emu.inject(health_error=True)
    d = make_driver(emu.port)
    wait_for(lambda: emu.commands.count(P.CMD_HEALTH) >= 4, 15, 'repeated health checks')
    errors = d.test_log.errors()
    assert len(errors) == 1 and 'health error' in errors[0] and '0x0002' in errors[0], errors
    assert d.revs == [] and not emu.scanning
    emu.inject(health_error=False)
    wait_for(n_revs(d, 2), 15, 'revolutions after the health error cleared')
    assert len(d.test_log.errors()) == 1


def test_silent_device_is_one_clear_error(emu, make_driver):
    d = make_driver(emu.port)
    wait_for(n_revs(d, 1), 15, 'revolutions')
    before = emu.commands.count(P.CMD_HEALTH)
    emu.inject(silent=True)
    wait_for(lambda: emu.commands.count(P.CMD_HEALTH) >= before + 3, 20,
             'reconnect attempts to the silent device')
    errors = d.test_log.errors()
    assert len(errors) == 1 and 'silent' in errors[0], errors
    n = len(d.revs)
    emu.inject(silent=False)
    wait_for(n_revs(d, n + 2), 15, 'revolutions after silence')
    assert len(d.test_log.errors()) == 1


def test_pause_resume_and_close_are_quiet(emu, make_driver):
    d = make_driver(emu.port)
    wait_for(n_revs(d, 1), 15, 'revolutions')
    d.pause()
    wait_for(lambda: d.state == 'stopped' and not emu.scanning, 10, 'stopped')
    n = len(d.revs)
    d.resume()
    wait_for(n_revs(d, n + 2), 15, 'revolutions after resume')
    d.close()
    assert d.state == 'closed'
    wait_for(lambda: emu.commands[-1] == P.CMD_STOP and not emu.scanning, 10,
             'stop received by the device')
    assert d.test_log.errors() == []


def test_packets_are_paced_by_the_emulator_clock(tmp_path, make_driver):
    from ydlidar_g4.emulator import G4Emulator
    now = [100.0]
    emu = G4Emulator(box_world, frequency_hz=10.0, clock=lambda: now[0],
                     link_path=str(tmp_path / 'lidar')).start()
    try:
        d = make_driver(emu.port, silence_timeout=30.0)
        wait_for(lambda: emu.scanning, 15, 'scan started')
        sent = emu.bytes_sent
        wait_for(lambda: d.state == 'scanning', 10, 'driver streaming')
        assert emu.bytes_sent == sent and d.revs == []       # frozen clock: nothing
        now[0] += 0.35                                      # 3.5 revolutions of sim time
        wait_for(n_revs(d, 3), 10, 'three revolutions')
        assert len(d.revs) == 3
    finally:
        emu.stop()


def test_lidar_info_cli(emu):
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(['--port', emu.port])
    assert code == 0
    info = json.loads(out.getvalue())
    assert info['device_info']['serial'] == '2021101000070073'
    assert info['health']['status_name'] == 'ok'
    assert info['sample_rate_khz'] == 9 and info['frequency_hz'] == 10.0
    assert cli.main(['--port', emu.port + '.missing']) == 1


def test_health_falls_back_to_0x91(tmp_path, make_driver):
    from ydlidar_g4.emulator import G4Emulator

    class OldFirmware(G4Emulator):
        """Answers health only on 0x91 (as the English manual documents)."""

        def _command(self, cmd):
            if cmd == P.CMD_HEALTH:
                self.commands.append(cmd)
                return
            G4Emulator._command(self, cmd)

    emu = OldFirmware(box_world, link_path=str(tmp_path / 'lidar')).start()
    try:
        d = make_driver(emu.port, reply_timeout=0.2)
        wait_for(n_revs(d, 1), 15, 'revolutions')
        i = emu.commands.index(P.CMD_HEALTH)
        assert emu.commands[i + 1] == P.CMD_HEALTH_ALT
        assert d.health['status'] == 0 and d.test_log.errors() == []
    finally:
        emu.stop()
