"""Motor-controller emulator on a pseudo-terminal: the firmware side of nanorover_base.protocol.

It opens a pty (``os.openpty``); the base node opens :attr:`MotorControllerEmulator.port` like the
real /dev/ttyACM* of the microcontroller. The emulator

- decodes WHEEL_CMD / STOP / HEARTBEAT frames (every decoded frame is kept in :attr:`received`),
- integrates the commanded wheel speeds into encoder ticks (ticks_per_rev from robot.yaml) and
  sends ENCODER frames at ``encoder_rate`` Hz and BATTERY frames at 1 Hz,
- stops the motors by itself when no WHEEL_CMD/HEARTBEAT arrived for ``watchdog`` seconds (as the
  firmware does) and reports that with a STATUS frame.

``inject(bytes)`` writes raw bytes to the host (corrupted-frame tests); ``autonomous=False`` stops
the periodic ENCODER/BATTERY frames so a test can send its own. Run standalone with
``motor_emulator --link /tmp/nanorover_base`` (a symlink to the pty slave for launch files).
Python 3.6 compatible.
"""
import argparse
import math
import os
import select
import signal
import sys
import threading
import time
import tty

from nanorover_base import protocol
from nanorover_base.kinematics import load_robot_config


class MotorControllerEmulator(object):

    def __init__(self, ticks_per_rev=1320, encoder_rate=50.0, watchdog=0.5,
                 battery_mv=11800, battery_pct=87, autonomous=True, link=None):
        self.ticks_per_rev = ticks_per_rev
        self.encoder_rate = encoder_rate
        self.watchdog = watchdog
        self.battery_mv = battery_mv
        self.battery_pct = battery_pct
        self.autonomous = autonomous
        self.link = link
        self.received = []            # (monotonic time, Frame) of every frame from the host
        self.speeds = (0.0, 0.0)      # current wheel speeds [rad/s]
        self.watchdog_trips = 0
        self.parser = protocol.Parser()
        self._ticks = [0.0, 0.0]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)   # a full tty buffer drops bytes instead of blocking
        self.port = os.ttyname(self._slave)
        if link:
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(self.port, link)
        self._last_cmd = time.monotonic()
        self._thread = threading.Thread(target=self._run, name='motor-emulator', daemon=True)

    # --- control ------------------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def inject(self, data):
        """Write raw bytes to the host side."""
        with self._lock:
            os.write(self._master, bytes(data))

    def send(self, msg_type, *fields):
        self.inject(protocol.encode(msg_type, *fields))

    def wheel_commands(self):
        """[(time, left rad/s, right rad/s)] of the WHEEL_CMD frames received so far."""
        with self._lock:
            return [(t, protocol.speed_from_wire(f.fields[0]), protocol.speed_from_wire(f.fields[1]))
                    for t, f in self.received if f.type == protocol.WHEEL_CMD]

    # --- firmware loop -------------------------------------------------------------------------
    def _handle(self, frame, now):
        self.received.append((now, frame))
        if frame.type == protocol.WHEEL_CMD:
            self.speeds = (protocol.speed_from_wire(frame.fields[0]),
                           protocol.speed_from_wire(frame.fields[1]))
            self._last_cmd = now
        elif frame.type == protocol.STOP:
            self.speeds = (0.0, 0.0)
            self._last_cmd = now
        elif frame.type == protocol.HEARTBEAT:
            self._last_cmd = now

    def _run(self):
        period = 1.0 / self.encoder_rate
        t_prev = t_enc = time.monotonic()
        t_bat = t_prev - 1.0
        tripped = False
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], period / 2)
            except (OSError, ValueError):
                return
            now = time.monotonic()
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b''   # slave not open (yet) / closed: keep running
                with self._lock:
                    for frame in self.parser.feed(data):
                        self._handle(frame, now)
            with self._lock:
                dt = now - t_prev
                t_prev = now
                k = self.ticks_per_rev / (2.0 * math.pi) * dt
                self._ticks[0] += self.speeds[0] * k
                self._ticks[1] += self.speeds[1] * k
                if now - self._last_cmd > self.watchdog and self.speeds != (0.0, 0.0):
                    self.speeds = (0.0, 0.0)
                    self.watchdog_trips += 1
                    tripped = True
                elif now - self._last_cmd <= self.watchdog:
                    tripped = False
                left, right = (int(math.floor(v)) for v in self._ticks)
            if not self.autonomous:
                continue
            try:
                if now - t_enc >= period:
                    t_enc = now
                    stamp = int(now * 1e6) & 0xFFFFFFFF
                    left = ((left + 2 ** 31) % 2 ** 32) - 2 ** 31
                    right = ((right + 2 ** 31) % 2 ** 32) - 2 ** 31
                    self.inject(protocol.encode(protocol.ENCODER, left, right, stamp))
                if now - t_bat >= 1.0:
                    t_bat = now
                    self.inject(protocol.encode(protocol.BATTERY, self.battery_mv, self.battery_pct))
                    self.inject(protocol.encode(
                        protocol.STATUS, protocol.STATUS_WATCHDOG if tripped else 0))
            except OSError:
                pass   # nobody reading: the tty buffer is full; drop like a UART would


def main(argv=None):
    parser = argparse.ArgumentParser(description='nanorover motor-controller emulator on a pty')
    parser.add_argument('--link', default='/tmp/nanorover_base',
                        help='symlink to create to the pty slave (default %(default)s)')
    parser.add_argument('--robot-config', default=None,
                        help='config/robot.yaml for encoder_ticks_per_rev (default 1320)')
    parser.add_argument('--encoder-rate', type=float, default=50.0, help='ENCODER frames per s')
    parser.add_argument('--watchdog', type=float, default=0.5, help='firmware watchdog [s]')
    args = parser.parse_args(argv)
    kw = {}
    if args.robot_config:
        kw['ticks_per_rev'] = int(load_robot_config(args.robot_config)['encoder_ticks_per_rev'])
    emu = MotorControllerEmulator(encoder_rate=args.encoder_rate, watchdog=args.watchdog,
                                  link=args.link, **kw)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    emu.start()
    sys.stdout.write('motor emulator on %s (link %s)\n' % (emu.port, args.link))
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
