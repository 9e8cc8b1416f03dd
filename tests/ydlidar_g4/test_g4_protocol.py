"""G4 protocol: the protocol doc's vectors, decoding, and property tests of the packet parser."""
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ydlidar_g4 import protocol as P


# --- vectors from shared/YDLIDAR_G4_PROTOCOL.md -------------------------------------------------
def test_checksum_vector():
    pkt = bytes.fromhex('AA55010153AE53AEAB540000')
    assert P.checksum(pkt) == 0x54AB
    assert struct.unpack('<H', pkt[8:10])[0] == 0x54AB


def test_checksum_vector_packet_is_accepted_as_zero_packet():
    # the vector is a zero packet (CT bit0) with one sample of distance 0
    p = P.PacketParser()
    p.feed(bytes.fromhex('AA55010153AE53AEAB540000'))
    assert p.stats.packets == 1 and p.stats.checksum_errors == 0


def test_distance_vector():
    # E5 6F -> raw 0x6FE5 -> 7161.25 mm, decoded through a real packet
    pkt_z = P.encode_packet([4], 0.0, 0.0, zero=True, ct_hz=10)
    data = struct.pack('<HBBHHH', 0x55AA, 0, 1, 0x6FE5, 0x6FE5, 0) + bytes.fromhex('E56F')
    data = data[:8] + struct.pack('<H', P.checksum(data)) + data[10:]
    p = P.PacketParser()
    revs = p.feed(pkt_z + data + pkt_z)
    assert len(revs) == 1
    assert revs[0].ranges_m[1] == pytest.approx(7.16125, abs=1e-6)


def test_angle_vectors():
    assert (0x6FE5 >> 1) / 64.0 == pytest.approx(223.78, abs=0.005)
    assert (0x79BD >> 1) / 64.0 == pytest.approx(243.47, abs=0.005)
    assert P.angle_to_raw(223.78125) == 0x6FE5


@pytest.mark.parametrize('d,expected', [(1000, -6.762), (8000, -7.837), (100, 4.44),
                                        (155.3, 0.0), (0, 0.0)])
def test_second_level_correction(d, expected):
    assert P.correction_deg([d])[0] == pytest.approx(expected, abs=0.005)


def _one_rev(fsa, lsa, raw_dists):
    z = P.encode_packet([4000], 0.0, 0.0, zero=True, ct_hz=10)
    p = P.PacketParser()
    revs = p.feed(z + P.encode_packet(raw_dists, fsa, lsa) + z)
    assert len(revs) == 1
    return revs[0]


def test_angle_wraps_up_past_360():
    # near 360 deg, d = 100 mm: correction +4.44 deg -> wraps to ~4.3 deg (not 364.3)
    rev = _one_rev(359.875, 359.875, [400])
    assert rev.angles_deg[1] == pytest.approx(359.875 + 4.44 - 360.0, abs=0.01)


def test_angle_wraps_down_below_0():
    # near 0 deg, d = 8000 mm: correction -7.837 deg -> ~352.66 deg (not negative)
    rev = _one_rev(0.5, 0.5, [32000])
    assert rev.angles_deg[1] == pytest.approx(360.5 - 7.837, abs=0.01)


def test_extreme_span_and_near_correction_still_wraps():
    # FSA 359.5, LSA 359.0: a 359.5 deg span; 1 mm distances: +87 deg correction -> > 720 deg
    rev = _one_rev(359.5, 359.0, [4] * 80)
    assert np.all((rev.angles_deg >= 0) & (rev.angles_deg < 360))


def test_interpolation_across_zero():
    # FSA 350, LSA 10 (diff +20 through 360): 5 samples at 350, 355, 0, 5, 10 (d=155.3 mm: no corr)
    rev = _one_rev(350.0, 10.0, [621] * 5)  # 155.25 mm
    assert np.allclose(rev.angles_deg[1:], [350, 355, 0, 5, 10], atol=0.05)
    assert np.all((rev.angles_deg >= 0) & (rev.angles_deg < 360))


def test_commands_and_descriptors():
    assert P.command(P.CMD_START_SCAN) == b'\xa5\x60'
    assert P.stop_sequence() == (b'\xa5\x00', b'\xa5\x65')
    assert P.DESC_SCAN.encode() == bytes.fromhex('A55A0500004081')
    assert P.DESC_INFO.encode() == bytes.fromhex('A55A1400000004')
    assert P.DESC_HEALTH.encode() == bytes.fromhex('A55A0300000006')
    d = P.parse_descriptor(bytes.fromhex('A55A0500004081'))
    assert (d.length, d.mode, d.type) == (5, 1, 0x81)
    assert P.parse_descriptor(b'\x00\x01\x02\x03\x04\x05\x06') is None


def test_find_response_skips_stream_garbage():
    junk = P.encode_packet([100, 200], 1.0, 2.0) + b'\xa5\x5a\x00'
    payload, end = P.find_response(junk + P.DESC_HEALTH.encode() + b'\x02\x34\x12' + b'xx',
                                   P.DESC_HEALTH)
    assert payload == b'\x02\x34\x12'
    assert P.decode_health(payload) == {'status': 2, 'status_name': 'error',
                                        'error_code': 0x1234}
    assert P.find_response(P.DESC_HEALTH.encode() + b'\x00', P.DESC_HEALTH)[0] is None


def test_device_info_decoding():
    info = P.decode_device_info(bytes([5, 2, 3, 3]) + bytes([2, 0, 2, 1, 1, 0, 1, 0, 0, 0, 0,
                                                              7, 0, 0, 7, 3]))
    assert info == {'model': 5, 'model_name': 'G4', 'firmware': '3.2', 'hardware': 3,
                    'serial': '2021101000070073'}
    assert P.decode_frequency(P.encode_frequency(7.3)) == pytest.approx(7.3)
    assert P.decode_sample_rate(b'\x02') == 9 and P.decode_sample_rate(b'\x07') is None


# --- parser behaviour --------------------------------------------------------------------------
def _stream(n_rev=3, per_rev=5, lsn=40, hz=10.0):
    z = P.encode_packet([4000], 0.0, 0.0, zero=True, ct_hz=hz)
    body = b''.join(P.encode_packet(np.arange(lsn) * 8 + 2000 + i, i * 20.0 + 1, i * 20.0 + 19)
                    for i in range(per_rev))
    return (z + body) * n_rev + z


def test_revolutions_and_ct_frequency():
    p = P.PacketParser()
    revs = p.feed(_stream(n_rev=3, hz=7.5))
    assert len(revs) == 3
    assert all(len(r) == 1 + 5 * 40 for r in revs)
    assert revs[0].ct_hz == pytest.approx(7.5)


def test_revolution_knows_the_bytes_fed_after_its_zero_packet():
    z = P.encode_packet([4000], 0.0, 0.0, zero=True)
    d = P.encode_packet([1000] * 10, 1, 20)
    p = P.PacketParser()
    p.feed(z + d)
    revs = p.feed(d + z + d + b'\x01\x02')
    assert len(revs) == 1 and revs[0].bytes_after == len(d) + 2


def test_resync_counters():
    good = _stream(n_rev=2)
    bad = bytearray(good)
    bad[60] ^= 0xFF   # inside the first data packet: checksum error
    p = P.PacketParser()
    revs = p.feed(b'\x01\x02\x03' + bytes(bad))
    assert p.stats.checksum_errors == 1
    assert p.stats.resyncs >= 1 and p.stats.bytes_dropped >= 3
    assert len(revs) == 2 and len(revs[0]) == 1 + 4 * 40


def test_header_rejections():
    z = P.encode_packet([4000], 0.0, 0.0, zero=True)
    good = P.encode_packet([1000] * 4, 10, 12)
    lsn81 = bytearray(P.encode_packet([1000] * 81, 10, 12))
    no_check_bit = bytearray(good)
    no_check_bit[4] &= 0xFE
    p = P.PacketParser()
    revs = p.feed(z + bytes(lsn81) + bytes(no_check_bit) + good + z)
    assert len(revs) == 1 and len(revs[0]) == 5       # zero sample + the good packet only
    assert p.stats.header_errors >= 2


def test_lost_zero_packet_merges_and_oversize_is_dropped():
    p = P.PacketParser(max_samples=300)
    z = P.encode_packet([4000], 0.0, 0.0, zero=True)
    d = P.encode_packet([1000] * 80, 0.5, 359.0)
    revs = p.feed(z + d + d + d + d + z + d + z)
    assert [len(r) for r in revs] == [81]
    assert p.stats.partial_dropped > 0


def test_gap_without_zero_packet_drops_buffer():
    p = P.PacketParser(max_gap_s=2.0)
    z = P.encode_packet([4000], 0.0, 0.0, zero=True)
    d = P.encode_packet([1000] * 10, 1, 20)
    assert p.feed(z + d, now=0.0) == []
    assert p.feed(d + z, now=5.0) == []     # stale: dropped, a new revolution starts
    assert [len(r) for r in p.feed(d + z, now=5.1)] == [11]


@pytest.mark.parametrize('chunk', [1, 7, 91, 4096])
def test_any_chunking_gives_the_same_result(chunk):
    good = _stream(n_rev=4)
    bad = bytearray(P.encode_packet([1000] * 20, 5, 9))
    bad[15] ^= 0x40
    cut = len(good) // 2 + 3                    # inside a packet: that packet is lost too
    data = b'\x00\xaa\x55\x07' + good[:cut] + b'\xaa\x55\x01' + bytes(bad) + good[cut:]
    ref_p = P.PacketParser()
    ref = ref_p.feed(data)
    p = P.PacketParser()
    revs = []
    for i in range(0, len(data), chunk):
        revs += p.feed(data[i:i + chunk])
    assert len(revs) == len(ref) == 3
    for a, b in zip(revs, ref):
        assert np.array_equal(a.ranges_m, b.ranges_m)
        assert np.allclose(a.angles_deg, b.angles_deg)
    assert p.stats.as_dict() == ref_p.stats.as_dict()
    assert p.stats.resyncs == 2


# --- property tests ----------------------------------------------------------------------------
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The bytes that follow a generated stream (the device goes on sending): a corrupted sample count
# (LSN) near the end makes the parser wait for a longer packet, which holds back the packets after
# it until that many bytes have come and the checksum has failed. Zeros as long as the longest
# packet the parser accepts (MAX_LSN samples) hold no header.
STREAM_GOES_ON = bytes(P.PACKET_HEADER_LEN + P.SAMPLE_BYTES * P.MAX_LSN)


@FAST
@given(st.binary(max_size=3000), st.integers(1, 600))
def test_arbitrary_bytes_never_raise(data, chunk):
    p = P.PacketParser()
    for i in range(0, len(data), chunk):
        for rev in p.feed(data[i:i + chunk]):
            assert np.all((rev.angles_deg >= 0) & (rev.angles_deg < 360))
    s = p.stats
    assert s.bytes_dropped <= len(data)


packet_st = st.tuples(
    st.lists(st.integers(0, 65535), min_size=1, max_size=80),
    st.floats(0, 359.98), st.floats(0, 359.98))


@FAST
@given(st.lists(st.tuples(packet_st, st.binary(max_size=40)), min_size=1, max_size=12),
       st.binary(max_size=40), st.integers(1, 300))
def test_valid_packets_in_garbage_are_all_recovered(items, lead, chunk):
    z = P.encode_packet([4000], 0.0, 0.0, zero=True, ct_hz=8)
    stream = lead + z
    expected = [np.array([4000])]
    for (dists, fsa, lsa), garbage in items:
        stream += garbage + P.encode_packet(dists, fsa, lsa)
        expected.append(np.array(dists))
    stream += z
    p = P.PacketParser()
    revs = []
    for i in range(0, len(stream), chunk):
        revs += p.feed(stream[i:i + chunk])
    revs += p.feed(STREAM_GOES_ON)
    assert len(revs) == 1
    want = np.concatenate(expected) * 0.00025
    assert np.allclose(revs[0].ranges_m, want, atol=1e-6)
    assert np.all((revs[0].angles_deg >= 0) & (revs[0].angles_deg < 360))


@FAST
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(['flip', 'drop', 'insert']),
                          st.integers(0, 255)), max_size=8),
       st.integers(1, 500))
@example([(0, 'insert', 0), (0, 'insert', 0), (1347, 'flip', 32), (510510, 'flip', 0)], 1)
def test_corrupted_streams_never_raise_and_untouched_packets_survive(edits, chunk):
    z = P.encode_packet([4000], 0.0, 0.0, zero=True)
    packets = [z] + [P.encode_packet(np.arange(30) + 100 * k + 1, k * 10 + 1, k * 10 + 9)
                     for k in range(20)] + [z]
    data = bytearray(b''.join(packets))
    owner = [k for k, x in enumerate(packets) for _ in range(len(x))]   # packet of each byte
    touched = set()
    for pos, op, val in edits:
        pos %= len(data)
        touched.add(owner[pos])
        if op == 'flip':
            data[pos] ^= (val or 1)
        elif op == 'drop':
            del data[pos]
            del owner[pos]
        else:
            data.insert(pos, val)
            owner.insert(pos, -1)
    p = P.PacketParser()
    for i in range(0, len(data), chunk):
        p.feed(bytes(data[i:i + chunk]))
    p.feed(STREAM_GOES_ON)
    assert p.stats.packets >= len(packets) - len(touched - {-1})
