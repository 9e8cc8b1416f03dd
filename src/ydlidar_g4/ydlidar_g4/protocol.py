"""YDLIDAR G4 serial protocol: commands, response descriptors, device info/health, scan packets.

ROS-free and I/O-free (robot runtime: Python 3.6, numpy 1.19 API). Facts: shared/YDLIDAR_G4_PROTOCOL.md.

The packet parser is incremental (``feed(bytes)`` any chunking) and vectorised: header candidates
are found with numpy, validated in bulk (LSN <= 80, FSA/LSA check bits, checksum through a prefix
XOR of the u16 words), and the samples of all accepted packets are decoded in one pass.
It never raises on any byte sequence; problems are counted in ``ParserStats``.
"""
import struct

import numpy as np

# --- commands -------------------------------------------------------------------------------
SYNC = 0xA5
CMD_STOP_PRE = 0x00      # the SDK sends A5 00, waits 5 ms, then A5 65
CMD_START_SCAN = 0x60
CMD_STOP = 0x65
CMD_DEVICE_INFO = 0x90
CMD_HEALTH = 0x92
CMD_HEALTH_ALT = 0x91    # English manual / PyLidar3
CMD_FREQ_UP_01 = 0x09
CMD_FREQ_DOWN_01 = 0x0A
CMD_FREQ_UP_1 = 0x0B
CMD_FREQ_DOWN_1 = 0x0C
CMD_FREQ_GET = 0x0D
CMD_CONST_FREQ_ON = 0x0E
CMD_CONST_FREQ_OFF = 0x0F
CMD_SAMPLE_RATE_CYCLE = 0xD0
CMD_SAMPLE_RATE_GET = 0xD1
CMD_RESTART = 0x80

# response types
TYPE_SETTINGS = 0x04
TYPE_HEALTH = 0x06
TYPE_MEASUREMENT = 0x81

DESCRIPTOR_LEN = 7
PACKET_HEADER_LEN = 10
MAX_LSN = 80
SAMPLE_BYTES = 2

SAMPLE_RATE_CODES = {0: 4, 1: 8, 2: 9}          # D0/D1 reply code -> kHz
SAMPLE_RATE_TO_CODE = dict((v, k) for k, v in SAMPLE_RATE_CODES.items())
RANGE_MIN_BY_RATE = {4: 0.10, 8: 0.26, 9: 0.28}  # m
RANGE_MAX = 16.0                                 # m
FREQ_MIN, FREQ_MAX = 5.0, 12.0                   # Hz
MODEL_NAMES = {5: 'G4', 7: 'G4PRO', 17: 'G4B', 18: 'G4C'}
HEALTH_NAMES = {0: 'ok', 1: 'warning', 2: 'error'}


def command(cmd):
    """Encode a command byte as the 2-byte request ``A5 <cmd>``."""
    return bytes(bytearray([SYNC, cmd & 0xFF]))


def stop_sequence():
    """The SDK's stop: ``A5 00`` then (after ~5 ms) ``A5 65``; returned as two requests."""
    return command(CMD_STOP_PRE), command(CMD_STOP)


class Descriptor(object):
    """A 7-byte response descriptor: A5 5A, u32 LE (30-bit length | 2-bit mode << 30), type."""
    __slots__ = ('length', 'mode', 'type')

    def __init__(self, length, mode, rtype):
        self.length = length
        self.mode = mode
        self.type = rtype

    def encode(self):
        return bytes(bytearray([0xA5, 0x5A])) + struct.pack(
            '<IB', (self.length & 0x3FFFFFFF) | ((self.mode & 3) << 30), self.type)

    def __eq__(self, other):
        return (isinstance(other, Descriptor) and self.length == other.length and
                self.mode == other.mode and self.type == other.type)

    def __repr__(self):
        return 'Descriptor(length=%d, mode=%d, type=0x%02X)' % (self.length, self.mode, self.type)


# the descriptors a G4 sends
DESC_INFO = Descriptor(20, 0, TYPE_SETTINGS)
DESC_HEALTH = Descriptor(3, 0, TYPE_HEALTH)
DESC_FREQUENCY = Descriptor(4, 0, TYPE_SETTINGS)
DESC_SAMPLE_RATE = Descriptor(1, 0, TYPE_SETTINGS)
DESC_SCAN = Descriptor(5, 1, TYPE_MEASUREMENT)


def parse_descriptor(data):
    """Decode 7 bytes; None when they are not a descriptor."""
    data = bytes(data)
    if len(data) < DESCRIPTOR_LEN or data[0] != 0xA5 or data[1] != 0x5A:
        return None
    word, rtype = struct.unpack('<IB', data[2:7])
    return Descriptor(word & 0x3FFFFFFF, word >> 30, rtype)


def find_response(data, expected):
    """Search ``data`` for descriptor ``expected`` followed by its payload.

    Returns (payload, end offset) or (None, offset from which a later search should resume).
    Bytes before the descriptor (a stream still running, noise) are skipped.
    """
    data = bytes(data)
    head = expected.encode()
    pos = data.find(head)
    if pos < 0:
        # keep a possible partial descriptor at the end
        return None, max(0, len(data) - (DESCRIPTOR_LEN - 1))
    end = pos + DESCRIPTOR_LEN + expected.length
    if len(data) < end:
        return None, pos
    return data[pos + DESCRIPTOR_LEN:end], end


def decode_device_info(payload):
    """20-byte info payload -> dict(model, model_name, firmware, hardware, serial)."""
    payload = bytes(payload)
    if len(payload) != 20:
        raise ValueError('device info payload must be 20 bytes, got %d' % len(payload))
    model = payload[0]
    fw = payload[1] | (payload[2] << 8)
    return {
        'model': model,
        'model_name': MODEL_NAMES.get(model, 'unknown(%d)' % model),
        'firmware': '%d.%d' % (fw >> 8, fw & 0xFF),
        'hardware': payload[3],
        'serial': ''.join(chr(b + 48) if b < 10 else '?' for b in bytearray(payload[4:20])),
    }


def encode_device_info(model=5, firmware=(3, 2), hardware=3, serial='2021101000070073'):
    digits = bytearray(int(c) for c in serial[:16].rjust(16, '0'))
    return struct.pack('<BHB', model, (firmware[0] << 8) | firmware[1], hardware) + bytes(digits)


def decode_health(payload):
    """3-byte health payload -> dict(status, status_name, error_code)."""
    payload = bytes(payload)
    if len(payload) != 3:
        raise ValueError('health payload must be 3 bytes, got %d' % len(payload))
    status, code = struct.unpack('<BH', payload)
    return {'status': status, 'status_name': HEALTH_NAMES.get(status, 'unknown(%d)' % status),
            'error_code': code}


def encode_health(status=0, error_code=0):
    return struct.pack('<BH', status, error_code)


def decode_frequency(payload):
    """4-byte u32 LE in 1/100 Hz -> Hz."""
    return struct.unpack('<I', bytes(payload))[0] / 100.0


def encode_frequency(hz):
    return struct.pack('<I', int(round(hz * 100)))


def decode_sample_rate(payload):
    """1-byte code -> kHz (None for an unknown code)."""
    payload = bytes(payload)
    return SAMPLE_RATE_CODES.get(payload[0]) if payload else None


# --- scan packets -----------------------------------------------------------------------------
def correction_deg(dist_mm):
    """Second-level (triangulation) angle correction in degrees; 0 where the distance is 0."""
    d = np.asarray(dist_mm, dtype=np.float64)
    out = np.zeros(d.shape)
    ok = d > 0
    dd = d[ok]
    out[ok] = np.degrees(np.arctan(21.8 * (155.3 - dd) / (155.3 * dd)))
    return out


_HEADER_OFFSETS = np.arange(PACKET_HEADER_LEN)

#: correction [deg] for every raw distance value (u16, mm * 4): one gather per sample
_CORRECTION_TABLE = correction_deg(np.arange(65536) * 0.25)


def angle_to_raw(angle_deg):
    """Angle [deg] -> FSA/LSA field (angle*64 << 1 | check bit)."""
    q = int(round(float(angle_deg) * 64.0)) % (360 * 64)
    return (q << 1) | 1


def checksum(packet):
    """XOR of the u16 LE words of a packet except CS (bytes 8-9)."""
    b = bytes(packet)
    if len(b) % 2:
        b += b'\x00'
    words = np.frombuffer(b, dtype='<u2')
    return int(np.bitwise_xor.reduce(words[np.arange(words.size) != 4]))


def encode_packet(raw_distances, fsa_deg, lsa_deg, zero=False, ct_hz=0.0, corrupt=False):
    """Build one packet; ``raw_distances`` are u16 (mm*4). ``corrupt`` flips the checksum."""
    dist = np.asarray(raw_distances, dtype='<u2')
    lsn = int(dist.size)
    ct = 0
    if zero:
        ct = ((int(round(ct_hz * 10)) & 0x7F) << 1) | 1
    body = dist.tobytes()
    head = struct.pack('<HBBHH', 0x55AA, ct, lsn, angle_to_raw(fsa_deg), angle_to_raw(lsa_deg))
    cs = checksum(head + b'\x00\x00' + body)
    if corrupt:
        cs ^= 0x0101
    return head + struct.pack('<H', cs) + body


class Revolution(object):
    """One revolution as the device reports it: clockwise angles [deg, 0..360), ranges [m].

    ``ranges_m`` 0 = no return. ``ct_hz``: the frequency the closing zero packet reported for
    this revolution (0 = not provided). ``t_end`` (host seconds) is set by the driver: the time
    the closing zero packet arrived, from the read time less ``bytes_after`` at the line rate.
    """
    __slots__ = ('angles_deg', 'ranges_m', 'ct_hz', 't_end', 'bytes_after')

    def __init__(self, angles_deg, ranges_m, ct_hz=0.0, t_end=None, bytes_after=0):
        self.angles_deg = angles_deg
        self.ranges_m = ranges_m
        self.ct_hz = ct_hz
        self.t_end = t_end
        self.bytes_after = bytes_after   # bytes fed after the closing zero packet (timing)

    def __len__(self):
        return int(self.ranges_m.size)


class ParserStats(object):
    __slots__ = ('packets', 'samples', 'checksum_errors', 'header_errors', 'resyncs',
                 'bytes_dropped', 'revolutions', 'partial_dropped')

    def __init__(self):
        for k in self.__slots__:
            setattr(self, k, 0)

    def as_dict(self):
        return dict((k, getattr(self, k)) for k in self.__slots__)


class PacketParser(object):
    """Incremental packet parser: ``feed(data, now=None) -> [Revolution, ...]``.

    ``max_gap_s``: with ``now`` given, samples buffered longer than this without a zero packet
    are dropped (the SDK's 2 s rule). ``max_samples``: a buffered revolution larger than this is
    dropped (zero packets lost); its samples are counted in ``partial_dropped``.
    """

    def __init__(self, max_gap_s=2.0, max_samples=6000):
        self.stats = ParserStats()
        self.max_gap_s = max_gap_s
        self.max_samples = max_samples
        self._buf = b''
        self._gap = False       # inside a run of dropped bytes (one resync per run)
        self._ang = []
        self._dist = []
        self._n = 0
        self._started = False   # the buffered samples began with a zero packet
        self._last_zero_t = None

    def reset(self):
        self._buf = b''
        self._drop_partial(count=False)
        self._started = False
        self._last_zero_t = None

    def _drop_partial(self, count=True):
        if count:
            self.stats.partial_dropped += self._n
        self._ang = []
        self._dist = []
        self._n = 0

    def feed(self, data, now=None):
        try:
            return self._feed(data, now)
        except Exception:  # pragma: no cover - defensive: never raise on input
            self.stats.bytes_dropped += len(self._buf)
            self._buf = b''
            self._drop_partial()
            self._started = False
            return []

    # -- internals --
    def _feed(self, data, now):
        if now is not None and self._last_zero_t is not None and self._n and \
                now - self._last_zero_t > self.max_gap_s:
            self._drop_partial()
            self._started = False
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        n = len(buf)
        if n < 2:
            self._buf = buf
            return []
        u8 = np.frombuffer(buf, dtype=np.uint8)
        cand = np.flatnonzero((u8[:-1] == 0xAA) & (u8[1:] == 0x55))
        st = self.stats
        # candidates with a complete 10-byte header are checked; later ones wait for data
        full = cand[:int(np.searchsorted(cand, n - PACKET_HEADER_LEN, side='right'))]
        waiting_from = int(cand[full.size]) if cand.size > full.size else None
        if full.size:
            hdr = u8[full[:, None] + _HEADER_OFFSETS]          # (N, 10) bytes
            hw = hdr.view('<u2')                                # PH, CT|LSN, FSA, LSA, CS
            ct = hdr[:, 2]
            lsn = hdr[:, 3].astype(np.int64)
            fsa = hw[:, 2]
            lsa = hw[:, 3]
            head_ok = (lsn >= 1) & (lsn <= MAX_LSN) & ((fsa & lsa & 1) == 1)
            plen = PACKET_HEADER_LEN + SAMPLE_BYTES * lsn
            complete = full + plen <= n
            # checksum: XOR over all words incl. CS must be 0; prefix XOR per byte parity
            cs_ok = np.zeros(full.size, dtype=bool)
            sel = np.flatnonzero(head_ok & complete)
            if sel.size:
                for parity in (0, 1):
                    ps = sel[(full[sel] & 1) == parity]
                    if not ps.size:
                        continue
                    m = (n - parity) // 2
                    words = np.frombuffer(buf, dtype='<u2', count=m, offset=parity)
                    pref = np.zeros(m + 1, dtype=np.uint16)
                    np.bitwise_xor.accumulate(words, out=pref[1:])
                    w0 = (full[ps] - parity) // 2
                    w1 = w0 + 5 + lsn[ps]
                    cs_ok[ps] = (pref[w1] ^ pref[w0]) == 0
            starts = full.tolist()
            hok = head_ok.tolist()
            comp = complete.tolist()
            csok = cs_ok.tolist()
            lens = plen.tolist()
        else:
            starts = hok = comp = csok = lens = []
        pos = 0
        acc = []          # indices into ``full`` of accepted packets
        stop_at = None    # a plausible packet not yet complete: wait for more bytes
        for k, c in enumerate(starts):
            if c < pos:
                continue
            if not hok[k]:
                st.header_errors += 1
                continue
            if not comp[k]:
                stop_at = c
                break
            if not csok[k]:
                st.checksum_errors += 1
                continue
            if c > pos:
                st.bytes_dropped += c - pos
                if not self._gap:
                    st.resyncs += 1
            self._gap = False
            acc.append(k)
            pos = c + lens[k]
        if stop_at is None:
            stop_at = waiting_from if waiting_from is not None and waiting_from >= pos else None
        if stop_at is None:
            # keep a trailing 0xAA (maybe the first half of a header)
            stop_at = n - 1 if u8[n - 1] == 0xAA and n - 1 >= pos else n
        if stop_at > pos:
            st.bytes_dropped += stop_at - pos
            if not self._gap:
                st.resyncs += 1
            self._gap = True
        self._buf = buf[stop_at:]
        if not acc:
            return []
        return self._decode(buf, full[acc], ct[acc], lsn[acc], fsa[acc], lsa[acc], now)

    def _decode(self, buf, starts, ct, lsn, fsa, lsa, now):
        st = self.stats
        npk = starts.size
        lsn_l = lsn.tolist()
        total = sum(lsn_l)
        st.packets += npk
        st.samples += total
        # the sample bytes of all accepted packets, joined, read as u16 LE in one go
        payload = b''.join([buf[s0 + PACKET_HEADER_LEN:s0 + PACKET_HEADER_LEN + 2 * n]
                            for s0, n in zip(starts.tolist(), lsn_l)])
        raw = np.frombuffer(payload, dtype='<u2')
        first = np.zeros(npk, dtype=np.int64)
        np.cumsum(lsn[:-1], out=first[1:])
        a_f = (fsa >> 1) * (1.0 / 64.0)
        a_l = (lsa >> 1) * (1.0 / 64.0)
        diff = a_l - a_f
        diff += np.where(diff < 0, 360.0, 0.0)
        step = diff / np.maximum(lsn - 1, 1)          # LSN 1: step unused (j = 0)
        j = np.arange(total, dtype=np.float64)
        j -= np.repeat(first, lsn)
        ang = np.repeat(a_f, lsn)
        ang += j * np.repeat(step, lsn)
        ang += _CORRECTION_TABLE[raw]
        np.subtract(ang, 360.0, out=ang, where=ang >= 360.0)
        np.add(ang, 360.0, out=ang, where=ang < 0.0)      # correction >= -8 deg: once is enough
        if ang.size and ang.max() >= 360.0:   # a span of ~360 deg plus a large near correction
            ang = np.mod(ang, 360.0)
            ang[ang >= 360.0] = 0.0
        ranges = raw * np.float32(0.00025)
        # split at zero packets
        zero = np.flatnonzero((ct & 1) == 1)
        out = []
        prev = 0
        for z in zero.tolist():
            s0 = int(first[z])
            if s0 > prev:
                self._append(ang[prev:s0], ranges[prev:s0])
            hz = (int(ct[z]) >> 1) / 10.0
            if self._started and self._n:
                after = len(buf) - (int(starts[z]) + PACKET_HEADER_LEN + 2 * lsn_l[z])
                out.append(Revolution(np.concatenate(self._ang), np.concatenate(self._dist), hz,
                                      bytes_after=after))
                st.revolutions += 1
                self._ang, self._dist, self._n = [], [], 0
            else:
                self._drop_partial()
            self._started = True
            self._last_zero_t = now
            prev = s0
        if total > prev:
            self._append(ang[prev:], ranges[prev:])
        return out

    def _append(self, ang, rng):
        self._ang.append(ang)
        self._dist.append(rng)
        self._n += int(rng.size)
        if self._n > self.max_samples:
            self._drop_partial()
            self._started = False
