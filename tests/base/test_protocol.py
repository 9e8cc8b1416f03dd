"""nanorover_base.protocol: frames, CRC, incremental parser (resync, never raises)."""
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nanorover_base import protocol as P


def test_crc_is_ccitt_false_check_value():
    assert P.crc16(b'123456789') == 0x29B1


def test_wheel_cmd_layout_on_the_wire():
    frame = P.encode_wheel_cmd(1.5, -2.25)
    assert frame[:2] == b'\xa5\x5a'
    assert frame[2] == P.WHEEL_CMD and frame[3] == 4
    assert struct.unpack('<hh', frame[4:8]) == (1500, -2250)
    assert struct.unpack('<H', frame[8:10])[0] == P.crc16(frame[2:8])
    assert len(frame) == 10


def test_wheel_speed_saturates_to_int16():
    assert P.decode(P.encode_wheel_cmd(100.0, -100.0)).fields == (32767, -32767)


@pytest.mark.parametrize('msg_type,fields', [
    (P.WHEEL_CMD, (-12, 345)), (P.STOP, ()), (P.HEARTBEAT, (7,)),
    (P.ENCODER, (-2 ** 31, 2 ** 31 - 1, 2 ** 32 - 1)), (P.BATTERY, (11800, 87)), (P.STATUS, (1,)),
])
def test_round_trip_every_message(msg_type, fields):
    frame = P.decode(P.encode(msg_type, *fields))
    assert frame.type == msg_type and frame.fields == fields


def test_encode_rejects_bad_values_with_reason():
    with pytest.raises(P.ProtocolError, match='BATTERY'):
        P.encode(P.BATTERY, 70000, 5)
    with pytest.raises(P.ProtocolError, match='unknown'):
        P.encode(0x55)


def test_byte_by_byte_feed_gives_the_same_frames():
    stream = P.encode(P.ENCODER, 1, 2, 3) + P.encode(P.BATTERY, 12000, 90)
    parser = P.Parser()
    frames = []
    for i in range(len(stream)):
        frames += parser.feed(stream[i:i + 1])
    assert [f.fields for f in frames] == [(1, 2, 3), (12000, 90)]
    assert parser.errors() == 0 and parser.pending() == 0


def test_corrupted_frame_is_counted_and_the_next_one_found():
    good = P.encode(P.BATTERY, 11100, 50)
    bad = bytearray(P.encode(P.ENCODER, 10, 20, 30))
    bad[6] ^= 0x40                                     # flip a payload bit: CRC mismatch
    parser = P.Parser()
    frames = parser.feed(b'\x00\xa5garbage' + bytes(bad) + good)
    assert [f.fields for f in frames] == [(11100, 50)]
    assert parser.stats['crc_errors'] == 1
    assert parser.stats['discarded_bytes'] > 0


def test_oversized_length_resyncs():
    parser = P.Parser()
    good = P.encode(P.STATUS, 1)
    frames = parser.feed(b'\xa5\x5a\x81\xff' + good)
    assert frames == [P.Frame(P.STATUS, b'\x01')]
    assert parser.stats['bad_length'] == 1


def test_valid_crc_but_unknown_type_or_wrong_size_is_rejected():
    parser = P.Parser()
    frames = parser.feed(P.encode_raw(0x42, b'xy') + P.encode_raw(P.BATTERY, b'\x01')
                         + P.encode(P.HEARTBEAT, 3))
    assert [f.fields for f in frames] == [(3,)]
    assert parser.stats['unknown_type'] == 1 and parser.stats['bad_payload'] == 1


def test_feed_of_non_bytes_does_not_raise():
    assert P.Parser().feed(None) == []


def test_decode_rejects_trailing_bytes():
    with pytest.raises(P.ProtocolError):
        P.decode(P.encode(P.HEARTBEAT, 1) + b'\xa5')


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=20))
def test_fuzz_parser_never_raises_on_arbitrary_chunks(data, cuts):
    parser = P.Parser()
    pos = 0
    for c in cuts + [len(data)]:
        for frame in parser.feed(data[pos:pos + c]):
            assert frame.type in P.MESSAGES      # only well-formed frames come out
        pos += c
    assert parser.pending() <= P.HEADER_LEN + P.MAX_PAYLOAD + P.CRC_LEN


frames_st = st.one_of(
    st.tuples(st.integers(-32767, 32767), st.integers(-32767, 32767)).map(
        lambda f: (P.WHEEL_CMD, f)),
    st.tuples(st.integers(-2 ** 31, 2 ** 31 - 1), st.integers(-2 ** 31, 2 ** 31 - 1),
              st.integers(0, 2 ** 32 - 1)).map(lambda f: (P.ENCODER, f)),
    st.tuples(st.integers(0, 65535), st.integers(0, 255)).map(lambda f: (P.BATTERY, f)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=12), frames_st), min_size=1, max_size=8),
       st.integers(1, 17))
@example([(b'\xa5\x5a\x82\x20', (P.WHEEL_CMD, (1, 2)))], 1)  # header-like garbage, last frame
def test_fuzz_valid_frames_survive_interleaved_garbage(items, chunk):
    stream = b''.join(g + P.encode(t, *f) for g, (t, f) in items)
    parser = P.Parser()
    out = []
    for i in range(0, len(stream), chunk):
        out += [(fr.type, fr.fields) for fr in parser.feed(stream[i:i + chunk])]
    # the stream goes on: garbage that looks like a header with a long length makes the parser
    # wait for that many bytes (holding back the frames after it) until its CRC fails; zeros as
    # long as the longest frame play the bytes that follow
    out += [(fr.type, fr.fields) for fr in parser.feed(bytes(P.HEADER_LEN + P.MAX_PAYLOAD +
                                                             P.CRC_LEN))]
    expected = [(t, tuple(f)) for _, (t, f) in items]
    it = iter(out)                                  # the sent frames form a subsequence of the
    assert all(any(e == o for o in it) for e in expected), (expected, out)   # output (garbage
    # could form an extra frame only by a CRC-16 collision)
