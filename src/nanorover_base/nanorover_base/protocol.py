"""Serial protocol between the host (Jetson) and the motor microcontroller. ROS-free, Python 3.6.

Frame layout (all multi-byte fields little-endian)::

    +------+------+------+-----+-----------------+-----------------+
    | 0xA5 | 0x5A | type | len | payload (len B) | CRC-16 (2 B LE) |
    +------+------+------+-----+-----------------+-----------------+

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, ``binascii.crc_hqx``) over
``type, len, payload``. ``len`` <= MAX_PAYLOAD. Link: 115200 baud 8N1.

==== ============== ========= ============================================================
type name           direction payload
==== ============== ========= ============================================================
0x01 WHEEL_CMD      host→MCU  int16 left, int16 right: wheel speed [rad/s × 1000]
0x02 STOP           host→MCU  (empty) brake both wheels now
0x03 HEARTBEAT      both      uint8 sequence number (keeps the firmware watchdog fed)
0x81 ENCODER        MCU→host  int32 left ticks, int32 right ticks, uint32 MCU time [µs]
0x82 BATTERY        MCU→host  uint16 voltage [mV], uint8 charge [%]
0x83 STATUS         MCU→host  uint8 flags: bit0 watchdog stopped the motors, bit1 motor fault
==== ============== ========= ============================================================

The firmware stops both motors when no WHEEL_CMD / HEARTBEAT arrived for its watchdog period
(0.5 s) and reports it with STATUS bit0. Tick counters and the µs clock wrap around (two's
complement); consumers take differences modulo 2**32.

:class:`Parser` is incremental: feed it any chunk of bytes; it returns the complete, valid frames
and never raises. A bad CRC, an oversized length or an unknown type discards only the first byte
of the candidate frame and searches for the next start-of-frame, so a frame that follows garbage
is still found. Each rejection is counted in :attr:`Parser.stats`.
"""
import binascii
import struct

SOF = b'\xa5\x5a'
HEADER_LEN = 4          # SOF (2) + type + len
CRC_LEN = 2
MAX_PAYLOAD = 32

WHEEL_CMD = 0x01
STOP = 0x02
HEARTBEAT = 0x03
ENCODER = 0x81
BATTERY = 0x82
STATUS = 0x83

STATUS_WATCHDOG = 0x01
STATUS_MOTOR_FAULT = 0x02

SPEED_SCALE = 1000.0    # rad/s -> int16 units
INT16_MAX = 32767

# type -> (name, struct format of the payload)
MESSAGES = {
    WHEEL_CMD: ('WHEEL_CMD', '<hh'),
    STOP: ('STOP', '<'),
    HEARTBEAT: ('HEARTBEAT', '<B'),
    ENCODER: ('ENCODER', '<iiI'),
    BATTERY: ('BATTERY', '<HB'),
    STATUS: ('STATUS', '<B'),
}
_STRUCTS = dict((t, struct.Struct(fmt)) for t, (_, fmt) in MESSAGES.items())


class ProtocolError(ValueError):
    """A message cannot be encoded (unknown type, value out of range)."""


def crc16(data):
    """CRC-16/CCITT-FALSE of ``data`` (check value for b'123456789' is 0x29B1)."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def encode(msg_type, *fields):
    """One complete frame of ``msg_type`` with ``fields`` packed as in :data:`MESSAGES`."""
    st = _STRUCTS.get(msg_type)
    if st is None:
        raise ProtocolError('unknown message type 0x%02x' % msg_type)
    try:
        payload = st.pack(*fields)
    except struct.error as exc:
        raise ProtocolError('%s %r: %s' % (MESSAGES[msg_type][0], fields, exc))
    return encode_raw(msg_type, payload)


def encode_raw(msg_type, payload):
    """A frame around an arbitrary payload (used by tests and the emulator)."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError('payload of %d bytes exceeds %d' % (len(payload), MAX_PAYLOAD))
    body = bytes(bytearray([msg_type & 0xFF, len(payload)])) + bytes(payload)
    return SOF + body + struct.pack('<H', crc16(body))


def speed_to_wire(rad_s):
    """rad/s -> int16 wire units, saturated to the int16 range."""
    v = int(round(rad_s * SPEED_SCALE))
    return max(-INT16_MAX, min(INT16_MAX, v))


def speed_from_wire(value):
    return value / SPEED_SCALE


def encode_wheel_cmd(left_rad_s, right_rad_s):
    """WHEEL_CMD frame for wheel speeds in rad/s (saturated to ±32.767 rad/s)."""
    return encode(WHEEL_CMD, speed_to_wire(left_rad_s), speed_to_wire(right_rad_s))


class Frame(object):
    """A decoded frame: ``type``, ``name``, ``fields`` (tuple) and the raw ``payload``."""

    __slots__ = ('type', 'name', 'fields', 'payload')

    def __init__(self, msg_type, payload):
        self.type = msg_type
        self.name, _ = MESSAGES[msg_type]
        self.payload = bytes(payload)
        self.fields = _STRUCTS[msg_type].unpack(self.payload)

    def __eq__(self, other):
        return isinstance(other, Frame) and (self.type, self.payload) == (other.type, other.payload)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.type, self.payload))

    def __repr__(self):
        return 'Frame(%s, %r)' % (self.name, self.fields)


def decode(frame_bytes):
    """Decode exactly one frame; raises ProtocolError when it is not a valid frame."""
    parser = Parser()
    frames = parser.feed(frame_bytes)
    if len(frames) != 1 or parser.pending():
        raise ProtocolError('not exactly one valid frame (%s)' % parser.stats)
    return frames[0]


class Parser(object):
    """Incremental frame parser that resynchronises after garbage and never raises."""

    def __init__(self, max_buffer=4096):
        self._buf = bytearray()
        self._max_buffer = max_buffer
        self.stats = {'frames': 0, 'crc_errors': 0, 'bad_length': 0, 'unknown_type': 0,
                      'bad_payload': 0, 'discarded_bytes': 0}

    def pending(self):
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def errors(self):
        s = self.stats
        return s['crc_errors'] + s['bad_length'] + s['unknown_type'] + s['bad_payload']

    def feed(self, data):
        """Add ``data`` (bytes/bytearray); return the list of valid :class:`Frame` s completed."""
        frames = []
        try:
            self._buf.extend(data)
        except TypeError:
            return frames
        buf = self._buf
        stats = self.stats
        pos = 0            # bytes before pos are consumed; deleted once at the end
        n = len(buf)
        while True:
            start = buf.find(SOF, pos)
            if start < 0:
                # keep a trailing 0xA5: it may be the first half of the next SOF
                keep = 1 if buf[-1:] == SOF[:1] else 0
                stats['discarded_bytes'] += n - keep - pos
                pos = n - keep
                break
            stats['discarded_bytes'] += start - pos
            pos = start
            if n - pos < HEADER_LEN:
                break
            msg_type, length = buf[pos + 2], buf[pos + 3]
            if length > MAX_PAYLOAD:
                stats['bad_length'] += 1
                stats['discarded_bytes'] += 1
                pos += 1
                continue
            total = HEADER_LEN + length + CRC_LEN
            if n - pos < total:
                break
            body = bytes(buf[pos + 2:pos + HEADER_LEN + length])
            (crc,) = struct.unpack_from('<H', buf, pos + HEADER_LEN + length)
            if crc != crc16(body):
                stats['crc_errors'] += 1
                stats['discarded_bytes'] += 1
                pos += 1
                continue
            st = _STRUCTS.get(msg_type)
            if st is None or st.size != length:
                stats['unknown_type' if st is None else 'bad_payload'] += 1
                stats['discarded_bytes'] += total
                pos += total
                continue
            frames.append(Frame(msg_type, body[2:]))
            stats['frames'] += 1
            pos += total
        del buf[:pos]
        if len(buf) > self._max_buffer:   # cannot happen with MAX_PAYLOAD, but stay bounded
            stats['discarded_bytes'] += len(buf)
            del buf[:]
        return frames
