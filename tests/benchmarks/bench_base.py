"""Benchmark of the base controller's serial path (standalone; `make bench`).

Figures are ratios against baselines run in the same process:
- parser: frames/s of Parser.feed on 4 KiB chunks, relative to CRC-checking the same bytes with
  binascii.crc_hqx alone (the floor any checked parser pays), and relative to the link rate the
  firmware produces (50 ENCODER frames/s + 1 BATTERY/s at 115200 baud);
- resync: the same with 10 % of the bytes replaced by garbage;
- odometry: Odometry.update calls/s relative to the 50 Hz encoder rate.
"""
import binascii
import random
import time
from pathlib import Path

from nanorover_base import protocol as P
from nanorover_base.kinematics import DiffDrive, Odometry, load_robot_config

CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'robot.yaml'


def timed(fn, min_time=1.0):
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return n / dt


def main():
    rnd = random.Random(1)
    frames = [P.encode(P.ENCODER, rnd.randint(-2 ** 31, 2 ** 31 - 1),
                       rnd.randint(-2 ** 31, 2 ** 31 - 1), rnd.randint(0, 2 ** 32 - 1))
              for _ in range(2000)]
    stream = b''.join(frames)
    chunks = [stream[i:i + 4096] for i in range(0, len(stream), 4096)]

    def parse(data_chunks):
        p = P.Parser()
        n = 0
        for c in data_chunks:
            n += len(p.feed(c))
        return n

    def crc_only():
        for f in frames:
            binascii.crc_hqx(f[2:-2], 0xFFFF)

    assert parse(chunks) == len(frames)
    parse_rate = timed(lambda: parse(chunks)) * len(frames)
    crc_rate = timed(crc_only) * len(frames)
    noisy = bytearray(stream)
    for i in rnd.sample(range(len(noisy)), len(noisy) // 10):
        noisy[i] = rnd.randrange(256)
    noisy_chunks = [bytes(noisy[i:i + 4096]) for i in range(0, len(noisy), 4096)]
    noisy_frames = parse(noisy_chunks)
    noisy_rate = timed(lambda: parse(noisy_chunks)) * len(frames)
    link_rate = 51.0   # frames/s the firmware sends

    odo = Odometry(DiffDrive(load_robot_config(str(CONFIG))))
    state = {'k': 0}

    def odo_updates():
        for _ in range(1000):
            state['k'] += 1
            k = state['k']
            odo.update(k * 7, k * 9, k * 20000)
    odo_rate = timed(odo_updates) * 1000

    print('parser: %.2fx the CRC-only floor, %.0fx the firmware frame rate'
          % (parse_rate / crc_rate, parse_rate / link_rate))
    intact = 0.9 ** len(frames[0])      # chance that a frame escaped the 10 % byte corruption
    print('parser with 10%% garbage bytes: %.2fx the clean speed; frames recovered %.2fx the '
          'intact ones expected (%d of %d)' % (noisy_rate / parse_rate,
                                               noisy_frames / (intact * len(frames)),
                                               noisy_frames, len(frames)))
    print('odometry: %.0fx the 50 Hz encoder rate' % (odo_rate / 50.0))


if __name__ == '__main__':
    main()
