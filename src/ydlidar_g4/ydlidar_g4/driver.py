"""G4 serial driver: start-up sequence, streaming thread, silence/unplug detection, reconnection.

ROS-free (robot runtime: Python 3.6). One thread owns the port for its whole life: it connects,
streams, and on a failure closes the port, waits (exponential backoff, interruptible) and connects
again *in the same loop*, so no thread ever joins itself. Each kind of failure (health error,
silent device, I/O / unplugged port) is logged once as an error until the device recovers
(logged once as info); repeats go to debug. A deliberate stop (``pause()`` / ``close()``) is
silent.
"""
import logging
import os
import threading
import time

import serial

from ydlidar_g4 import protocol as P


class DeviceError(Exception):
    """A device-level failure; ``kind`` groups messages so each kind is logged once."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


class G4Driver(object):
    """Drive a G4 on ``port``; ``on_revolution(Revolution)`` is called on the driver thread."""

    def __init__(self, port, baudrate=230400, frequency=10.0, sample_rate=9,
                 on_revolution=None, logger=None, silence_timeout=2.0,
                 backoff_initial=0.5, backoff_max=8.0, reply_timeout=0.5,
                 clock=time.monotonic, serial_factory=None):
        self.port = port
        self.baudrate = int(baudrate)
        self.frequency = float(frequency)
        self.sample_rate = int(sample_rate)
        self.on_revolution = on_revolution
        self.log = logger or logging.getLogger('ydlidar_g4')
        self.silence_timeout = float(silence_timeout)
        self.backoff_initial = float(backoff_initial)
        self.backoff_max = float(backoff_max)
        self.reply_timeout = float(reply_timeout)
        self.clock = clock
        self._serial_factory = serial_factory or serial.Serial
        self.parser = P.PacketParser()
        self._ser = None
        self._thread = None
        self._shutdown = False
        self._want_scan = True
        self._paused = False
        self._wake = threading.Event()
        # status (read by the node's diagnostics)
        self.state = 'idle'
        self.device_info = None
        self.health = None
        self.sample_rate_reported = None
        self.frequency_reported = None
        self.measured_hz = 0.0
        self.reconnects = 0
        self.connects = 0
        self.error_kind = None
        self.last_error = ''
        self.revolutions = 0
        self._last_rev_t = None
        self._leftover = b''

    # --- control (any thread) -----------------------------------------------------------------
    def start(self):
        if self._thread is None:
            self._shutdown = False
            self._thread = threading.Thread(target=self._run, name='ydlidar-g4', daemon=True)
            self._thread.start()
        return self

    def pause(self):
        """Deliberate stop: send stop, close the port, stay quiet until ``resume()``."""
        self._want_scan = False
        self._paused = True
        self._wake.set()

    def resume(self):
        self._want_scan = True
        self._wake.set()

    def close(self, timeout=3.0):
        """Shut down: the thread sends stop and closes the port; joined unless called from it."""
        self._shutdown = True
        self._wake.set()
        th = self._thread
        if th is not None and th is not threading.current_thread():
            th.join(timeout)
        self._thread = None

    def status(self):
        st = self.parser.stats
        return {
            'state': self.state,
            'port': self.port,
            'device_info': self.device_info,
            'health': self.health,
            'sample_rate_khz': self.sample_rate_reported,
            'frequency_set_hz': self.frequency_reported,
            'measured_hz': self.measured_hz,
            'revolutions': self.revolutions,
            'checksum_errors': st.checksum_errors,
            'resyncs': st.resyncs,
            'bytes_dropped': st.bytes_dropped,
            'reconnects': self.reconnects,
            'error': self.last_error if self.error_kind else '',
        }

    # --- the thread ---------------------------------------------------------------------------
    def _run(self):
        backoff = self.backoff_initial
        while not self._shutdown:
            if not self._want_scan:
                self.state = 'stopped'
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._open()
                self._startup()
                if self.connects and not self._paused:
                    self.reconnects += 1      # a restart after pause() is not a reconnect
                self.connects += 1
                self._paused = False
                if self.error_kind:
                    self.log.info('YDLIDAR G4 on %s recovered (%s)' % (self.port, self.error_kind))
                    self.error_kind = None
                backoff = self.backoff_initial
                self.state = 'scanning'
                self._stream()
            except DeviceError as exc:
                self._failed(exc.kind, str(exc))
            except (serial.SerialException, OSError, IOError) as exc:
                self._failed('io', 'serial port %s: %s' % (self.port, exc))
            except Exception as exc:  # a bug must not kill the thread silently
                self._failed('internal', 'driver error: %r' % (exc,))
            finally:
                self._close_port()
            if self._shutdown or not self._want_scan:
                continue
            self.state = 'reconnecting'
            self._wake.wait(backoff)
            self._wake.clear()
            backoff = min(backoff * 2.0, self.backoff_max)
        self.state = 'closed'

    def _failed(self, kind, message):
        if self._shutdown or not self._want_scan:
            return  # deliberate stop: the port closing under us is not an error
        self.last_error = message
        if kind != self.error_kind:
            self.error_kind = kind
            self.log.error(message + ' (retrying with backoff up to %.0f s)' % self.backoff_max)
        else:
            self.log.debug(message)

    def _open(self):
        self.state = 'connecting'
        if not os.path.exists(self.port):
            raise DeviceError('io', 'serial port %s not found (device unplugged?)' % self.port)
        self._ser = self._serial_factory(self.port, self.baudrate, timeout=0.02,
                                         write_timeout=1.0)

    def _close_port(self):
        ser, self._ser = self._ser, None
        if ser is None:
            return
        try:
            if ser.is_open:
                self._send_stop(ser)
        except Exception:
            pass
        try:
            ser.close()
        except Exception:
            pass

    @staticmethod
    def _send_stop(ser):
        pre, stop = P.stop_sequence()
        ser.write(pre)
        time.sleep(0.005)
        ser.write(stop)
        ser.flush()

    def _transact(self, cmd, expected, timeout=None):
        """Send ``A5 cmd``, return the payload of the ``expected`` descriptor or None (timeout)."""
        ser = self._ser
        ser.reset_input_buffer()
        ser.write(P.command(cmd))
        deadline = time.monotonic() + (timeout or self.reply_timeout)
        buf = b''
        while time.monotonic() < deadline and not self._shutdown:
            chunk = ser.read(max(1, ser.in_waiting))
            if chunk:
                buf += chunk
                payload, rest = P.find_response(buf, expected)
                if payload is not None:
                    self._leftover = buf[rest:]
                    return payload
                buf = buf[rest:]
        return None

    def query(self):
        """One-shot (no thread): open, stop + flush, health, info, sample rate, frequency; close.

        Returns a dict; raises DeviceError / serial.SerialException when the device cannot be
        reached. Nothing is changed on the device.
        """
        try:
            self._open()
            self._identify(raise_on_health=False)
            payload = self._transact(P.CMD_SAMPLE_RATE_GET, P.DESC_SAMPLE_RATE)
            self.sample_rate_reported = P.decode_sample_rate(payload) if payload else None
            payload = self._transact(P.CMD_FREQ_GET, P.DESC_FREQUENCY)
            self.frequency_reported = P.decode_frequency(payload) if payload else None
        finally:
            self._close_port()
        return {'port': self.port, 'device_info': self.device_info, 'health': self.health,
                'sample_rate_khz': self.sample_rate_reported,
                'frequency_hz': self.frequency_reported}

    def _identify(self, raise_on_health=True):
        ser = self._ser
        # stop a device that may still stream from a previous session, then flush
        self._send_stop(ser)
        time.sleep(0.05)
        ser.reset_input_buffer()
        health = None
        for attempt in range(2):
            payload = self._transact(P.CMD_HEALTH, P.DESC_HEALTH)
            if payload is None:
                payload = self._transact(P.CMD_HEALTH_ALT, P.DESC_HEALTH)
            if payload is not None:
                health = P.decode_health(payload)
                break
            self._send_stop(ser)
            time.sleep(0.05)
        if health is None:
            raise DeviceError('silent', 'YDLIDAR G4 on %s is silent: no reply to the health '
                                        'request (0x92/0x91)' % self.port)
        self.health = health
        if health['status'] >= 2 and raise_on_health:
            raise DeviceError('health', 'YDLIDAR G4 on %s reports a health error: status %d '
                                        'error code 0x%04X' % (self.port, health['status'],
                                                               health['error_code']))
        if health['status'] == 1 and self.error_kind != 'health-warning':
            self.log.warning('YDLIDAR G4 health warning, error code 0x%04X' %
                             health['error_code'])
        info = self._transact(P.CMD_DEVICE_INFO, P.DESC_INFO)
        if info is None:
            raise DeviceError('silent', 'YDLIDAR G4 on %s: no reply to the device-info request'
                              % self.port)
        self.device_info = P.decode_device_info(info)

    def _startup(self):
        ser = self._ser
        self._identify()
        self._set_sample_rate()
        self._set_frequency()
        # start
        ser.reset_input_buffer()
        ser.write(P.command(P.CMD_START_SCAN))
        deadline = time.monotonic() + max(1.0, self.reply_timeout)
        buf = b''
        while time.monotonic() < deadline and not self._shutdown:
            buf += ser.read(max(1, ser.in_waiting))
            pos = buf.find(P.DESC_SCAN.encode())
            if pos >= 0 and len(buf) >= pos + P.DESCRIPTOR_LEN:
                self._leftover = buf[pos + P.DESCRIPTOR_LEN:]
                break
        else:
            if self._shutdown:
                return
            raise DeviceError('silent', 'YDLIDAR G4 on %s: no scan descriptor after the start '
                                        'command' % self.port)
        self.parser.reset()
        self._last_rev_t = None
        self.log.info('YDLIDAR G4 %s fw %s hw %s serial %s on %s: scanning at %.2f Hz, %d kHz' % (
            self.device_info['model_name'], self.device_info['firmware'],
            self.device_info['hardware'], self.device_info['serial'], self.port,
            self.frequency_reported or 0.0, self.sample_rate_reported or 0))

    def _set_sample_rate(self):
        rate = None
        for _ in range(4):
            payload = self._transact(P.CMD_SAMPLE_RATE_GET, P.DESC_SAMPLE_RATE)
            rate = P.decode_sample_rate(payload) if payload else None
            if rate is None or rate == self.sample_rate:
                break
            self._transact(P.CMD_SAMPLE_RATE_CYCLE, P.DESC_SAMPLE_RATE)
        self.sample_rate_reported = rate
        if rate is not None and rate != self.sample_rate:
            self.log.warning('sample rate: wanted %d kHz, device reports %d kHz' %
                             (self.sample_rate, rate))

    def _set_frequency(self):
        payload = self._transact(P.CMD_FREQ_GET, P.DESC_FREQUENCY)
        if payload is None:
            self.frequency_reported = None
            return
        cur = P.decode_frequency(payload)
        steps = int(round((self.frequency - cur) * 10))
        for _ in range(200):
            if steps == 0:
                break
            if abs(steps) >= 10:
                cmd = P.CMD_FREQ_UP_1 if steps > 0 else P.CMD_FREQ_DOWN_1
            else:
                cmd = P.CMD_FREQ_UP_01 if steps > 0 else P.CMD_FREQ_DOWN_01
            reply = self._transact(cmd, P.DESC_FREQUENCY)
            if reply is None:
                break
            new = P.decode_frequency(reply)
            new_steps = int(round((self.frequency - new) * 10))
            if new_steps == steps:
                break  # the device does not move (limit reached)
            steps = new_steps
        payload = self._transact(P.CMD_FREQ_GET, P.DESC_FREQUENCY)
        self.frequency_reported = P.decode_frequency(payload) if payload else None
        if self.frequency_reported is not None and \
                abs(self.frequency_reported - self.frequency) > 0.051:
            self.log.warning('scan frequency: wanted %.2f Hz, device set to %.2f Hz' %
                             (self.frequency, self.frequency_reported))

    def _stream(self):
        ser = self._ser
        last_rx = self.clock()
        data = self._leftover
        self._leftover = b''
        while not self._shutdown and self._want_scan:
            now = self.clock()
            if data:
                last_rx = now
                for rev in self.parser.feed(data, now):
                    # the zero packet arrived before the bytes read after it (10 bits a byte)
                    rev.t_end = now - rev.bytes_after * 10.0 / self.baudrate
                    self._on_rev(rev)
            elif now - last_rx > self.silence_timeout:
                if not os.path.exists(self.port):
                    raise DeviceError('io', 'serial port %s vanished (device unplugged)'
                                      % self.port)
                raise DeviceError('silent', 'YDLIDAR G4 on %s is silent: no data for %.1f s'
                                  % (self.port, now - last_rx))
            try:
                data = ser.read(4096)
            except serial.SerialException as exc:
                raise DeviceError('io', 'lost the YDLIDAR G4 on %s (unplugged?): %s'
                                  % (self.port, exc))

    def _on_rev(self, rev):
        self.revolutions += 1
        if rev.ct_hz > 0:
            hz = rev.ct_hz
        elif self._last_rev_t is not None and rev.t_end > self._last_rev_t:
            hz = 1.0 / (rev.t_end - self._last_rev_t)
        else:
            hz = self.frequency_reported or self.frequency
        self._last_rev_t = rev.t_end
        self.measured_hz = hz if not self.measured_hz else 0.8 * self.measured_hz + 0.2 * hz
        if self.on_revolution is not None:
            try:
                self.on_revolution(rev)
            except Exception as exc:
                self.log.error('revolution callback failed: %r' % (exc,))
