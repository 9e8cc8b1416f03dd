"""A YDLIDAR G4 on a pseudo-terminal: answers the commands the driver sends and streams packets.

It is the test fixture and the lidar of the embedded simulator, so the driver code path is the
same in tests, simulation and on hardware. It inverts exactly what the driver does:

* the device samples uniformly in *raw* (uncorrected) angle r, clockwise, r = 0 at the zero
  packet; the beam actually points at a = r + ca(d) (second-level correction), with d measured in
  that direction: d = range(r + ca(d)), solved by fixed-point iteration from d = range(r);
* device angle a (clockwise, deg) <-> laser_frame angle (REP 103, CCW) theta = 180 deg - a, i.e. what
  the driver's ``inverted`` (a -> 360 - a) + ``reversion`` (+180) undo.

Packets are paced by ``clock`` (seconds; default time.monotonic): a simulator running at another
rate gets scans at its sim-time rate, a frozen clock produces no packets.
"""
import errno
import os
import select
import termios
import threading
import time
import tty

import numpy as np

from ydlidar_g4 import protocol as P

PACKET_SAMPLES = 40   # samples per data packet (G4 packets carry up to 80)
ITERATIONS = 3        # fixed-point iterations of d = range(raw + ca(d))


def device_to_laser_rad(device_deg):
    """Device angle (clockwise, deg) -> laser_frame angle (CCW, rad) in [-pi, pi)."""
    theta = np.radians(180.0 - np.asarray(device_deg, dtype=np.float64))
    return np.mod(theta + np.pi, 2 * np.pi) - np.pi


class G4Emulator(object):
    def __init__(self, range_fn, sample_rate_khz=9, frequency_hz=10.0, seed=0, clock=None,
                 noise_std_m=0.0, link_path=None, packet_samples=PACKET_SAMPLES):
        if sample_rate_khz not in P.SAMPLE_RATE_TO_CODE:
            raise ValueError('sample_rate_khz must be one of 4, 8, 9')
        self._range_fn = range_fn
        self.sample_rate_khz = sample_rate_khz
        self.frequency_hz = min(max(float(frequency_hz), P.FREQ_MIN), P.FREQ_MAX)
        self.clock = clock or time.monotonic
        self.noise_std_m = float(noise_std_m)
        self.link_path = link_path
        self.packet_samples = int(packet_samples)
        self._rng = np.random.RandomState(seed)
        self._lock = threading.Lock()
        self._faults = {'noise_bytes': 0, 'bad_checksum_rate': 0.0, 'drop_zero_packets': False,
                        'health_error': False, 'silent': False}
        self._master = self._slave = None
        self._slave_name = None
        self._thread = None
        self._running = False
        self._plugged = False
        self._scanning = False
        self.commands = []       # every command byte received (for tests)
        self.bytes_sent = 0

    # --- public API ---------------------------------------------------------------------------
    @property
    def port(self):
        """The path to open: ``link_path`` when given (kept pointing at the current pty)."""
        return self.link_path or self._slave_name

    @property
    def pty_name(self):
        return self._slave_name

    @property
    def scanning(self):
        return self._scanning

    def start(self):
        if self._running:
            return self
        self._open_pty()
        self._running = True
        self._thread = threading.Thread(target=self._run, name='g4-emulator', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._running = False
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self._thread = None
        self._close_pty()
        if self.link_path and os.path.islink(self.link_path):
            os.unlink(self.link_path)

    def set_range_fn(self, fn):
        with self._lock:
            self._range_fn = fn

    def inject(self, **faults):
        """noise_bytes=n (n random bytes once), bad_checksum_rate=p (fraction of packets),
        drop_zero_packets=bool, health_error=bool, silent=bool (no reply, no stream)."""
        with self._lock:
            for k, v in faults.items():
                if k not in self._faults:
                    raise TypeError('unknown fault %r' % k)
                if k == 'noise_bytes':
                    self._faults[k] += int(v)
                else:
                    self._faults[k] = v

    def unplug(self):
        """The device disappears: pty closed, link removed, scanning state lost."""
        with self._lock:
            self._plugged = False
            self._scanning = False
            self._close_pty()
            if self.link_path and os.path.islink(self.link_path):
                os.unlink(self.link_path)

    def replug(self):
        """A fresh (idle) device on a new pty; ``link_path`` points at it again."""
        with self._lock:
            if not self._plugged:
                self._open_pty()

    # --- pty ----------------------------------------------------------------------------------
    def _open_pty(self):
        master, slave = os.openpty()
        tty.setraw(master, termios.TCSANOW)
        tty.setraw(slave, termios.TCSANOW)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_name = os.ttyname(slave)
        self._plugged = True
        self._scanning = False
        self._inbuf = b''
        if self.link_path:
            tmp = self.link_path + '.tmp%d' % os.getpid()
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self._slave_name, tmp)
            os.rename(tmp, self.link_path)

    def _close_pty(self):
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def _write(self, data):
        """Write like a UART: what the host does not take in time is lost."""
        if self._master is None or not data:
            return
        try:
            n = os.write(self._master, data)
            self.bytes_sent += n
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EIO, errno.EBADF):
                raise

    # --- device loop --------------------------------------------------------------------------
    def _run(self):
        while self._running:
            with self._lock:
                master = self._master
            if master is None:
                time.sleep(0.01)
                continue
            try:
                r, _, _ = select.select([master], [], [], 0.004)
            except (OSError, ValueError):
                time.sleep(0.01)
                continue
            with self._lock:
                if self._master is None:
                    continue
                if r:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b''
                    if data:
                        self._on_bytes(data)
                if self._scanning and not self._faults['silent']:
                    self._stream()

    def _on_bytes(self, data):
        buf = self._inbuf + data
        i = 0
        while i < len(buf):
            if buf[i] != P.SYNC:
                i += 1
                continue
            if i + 1 >= len(buf):
                break
            self._command(buf[i + 1])
            i += 2
        self._inbuf = buf[i:]

    def _reply(self, desc, payload):
        if not self._faults['silent']:
            self._write(desc.encode() + payload)

    def _command(self, cmd):
        self.commands.append(cmd)
        if cmd == P.CMD_STOP:
            self._scanning = False
            return
        if self._scanning:
            return  # while scanning only stop is accepted
        f = self._faults
        if cmd == P.CMD_START_SCAN:
            if f['health_error'] or f['silent']:
                return
            self._reply(P.DESC_SCAN, b'')
            self._scanning = True
            self._t0 = self.clock()
            self._emitted = 0
            self._rev_len = int(round(self.sample_rate_khz * 1000.0 / self.frequency_hz))
        elif cmd in (P.CMD_HEALTH, P.CMD_HEALTH_ALT):
            self._reply(P.DESC_HEALTH, P.encode_health(2, 0x0002) if f['health_error']
                        else P.encode_health(0, 0))
        elif cmd == P.CMD_DEVICE_INFO:
            self._reply(P.DESC_INFO, P.encode_device_info())
        elif cmd in (P.CMD_FREQ_UP_01, P.CMD_FREQ_DOWN_01, P.CMD_FREQ_UP_1, P.CMD_FREQ_DOWN_1,
                     P.CMD_FREQ_GET):
            delta = {P.CMD_FREQ_UP_01: 0.1, P.CMD_FREQ_DOWN_01: -0.1, P.CMD_FREQ_UP_1: 1.0,
                     P.CMD_FREQ_DOWN_1: -1.0}.get(cmd, 0.0)
            self.frequency_hz = round(min(max(self.frequency_hz + delta, P.FREQ_MIN),
                                          P.FREQ_MAX), 2)
            self._reply(P.DESC_FREQUENCY, P.encode_frequency(self.frequency_hz))
        elif cmd == P.CMD_SAMPLE_RATE_CYCLE:
            code = (P.SAMPLE_RATE_TO_CODE[self.sample_rate_khz] + 1) % 3
            self.sample_rate_khz = P.SAMPLE_RATE_CODES[code]
            self._reply(P.DESC_SAMPLE_RATE, bytes(bytearray([code])))
        elif cmd == P.CMD_SAMPLE_RATE_GET:
            self._reply(P.DESC_SAMPLE_RATE,
                        bytes(bytearray([P.SAMPLE_RATE_TO_CODE[self.sample_rate_khz]])))
        elif cmd in (P.CMD_CONST_FREQ_ON, P.CMD_CONST_FREQ_OFF):
            self._reply(P.DESC_SAMPLE_RATE, b'\x00')
        # A5 00, restart and unknown commands: no reply

    def _stream(self):
        fs = self.sample_rate_khz * 1000.0
        n_rev = self._rev_len
        due = int((self.clock() - self._t0) * fs)
        if due - self._emitted > 5 * n_rev:      # clock jumped: skip ahead, keep revolution phase
            self._emitted = due - (due - self._emitted) % n_rev
        data, self._emitted = self._render(self._emitted, due, self._t0)
        self._write(data)

    def render(self, seconds):
        """The byte stream of ``seconds`` of scanning (after the 0x81 descriptor), no pty:
        for benchmarks and offline tests. Faults injected so far apply."""
        with self._lock:
            self._rev_len = int(round(self.sample_rate_khz * 1000.0 / self.frequency_hz))
            due = int(seconds * self.sample_rate_khz * 1000.0)
            return self._render(0, due, 0.0)[0]

    def _render(self, k0, due, t0):
        """Packets for the samples [k0, due) (whole packets only) -> (bytes, next sample index)."""
        fs = self.sample_rate_khz * 1000.0
        n_rev = self._rev_len
        bounds = []
        k = k0
        while True:
            pos = k % n_rev
            size = 1 if pos == 0 else min(self.packet_samples, n_rev - pos)
            if k + size > due:
                break
            bounds.append((k, size))
            k += size
        if not bounds:
            return b'', k0
        idx = np.arange(k0, k)
        t = t0 + idx / fs
        raw_deg = (idx % n_rev) * (360.0 / n_rev)
        # the beam points at raw + ca(d) where d is measured along it: fixed-point iteration
        d = self._ranges(raw_deg, t)
        for _ in range(ITERATIONS):
            d = self._ranges(raw_deg + P.correction_deg(d * 1000.0), t)
        if self.noise_std_m > 0:
            ok = d > 0
            d[ok] = np.maximum(d[ok] + self._rng.normal(0, self.noise_std_m, int(ok.sum())), 0.001)
        raw = np.clip(np.round(d * 4000.0), 0, 65535).astype('<u2')
        out = []
        f = self._faults
        if f['noise_bytes']:
            out.append(self._rng.randint(0, 256, f['noise_bytes']).astype(np.uint8).tobytes())
            f['noise_bytes'] = 0
        hz_ct = fs / n_rev
        for (kk, size) in bounds:
            s = kk - k0
            zero = (kk % n_rev) == 0
            if zero and f['drop_zero_packets']:
                continue
            corrupt = f['bad_checksum_rate'] > 0 and self._rng.rand() < f['bad_checksum_rate']
            out.append(P.encode_packet(raw[s:s + size], raw_deg[s], raw_deg[s + size - 1],
                                       zero=zero, ct_hz=hz_ct, corrupt=corrupt))
        return b''.join(out), k

    def _ranges(self, device_deg, t):
        theta = device_to_laser_rad(device_deg)
        tt = float(t[-1]) if np.size(t) else 0.0
        d = np.asarray(self._range_fn(theta, tt), dtype=np.float64).copy()
        d[~np.isfinite(d) | (d <= 0) | (d > P.RANGE_MAX)] = 0.0
        return d
