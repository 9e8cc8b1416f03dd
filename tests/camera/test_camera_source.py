"""camera_source without ROS: spec parsing, pipeline errors, newest-frame grabber, reconnects."""
import logging
import os
import time

import pytest

from camera_harness import index_of, make_video
from conftest import wait_for
from nanorover_perception.camera_source import (Backoff, CameraSource, FrameGrabber,
                                                SourceConfigError, SourceSpec,
                                                SourceUnavailable, csi_pipeline,
                                                gstreamer_available, open_source_factory)


@pytest.mark.parametrize('spec, kind, target', [
    ('0', 'v4l2', 0),
    ('/dev/video2', 'v4l2', '/dev/video2'),
    ('v4l2:1', 'v4l2', 1),
    ('videotestsrc ! videoconvert ! appsink', 'gstreamer',
     'videotestsrc ! videoconvert ! appsink'),
    ('file:/tmp/x.avi', 'file', '/tmp/x.avi'),
    ('replay.mp4', 'file', 'replay.mp4'),
    ('frames/img_%04d.png', 'file', 'frames/img_%04d.png'),
])
def test_spec_parsing(spec, kind, target):
    s = SourceSpec.parse(spec)
    assert (s.kind, s.target) == (kind, target)


def test_csi_default_pipeline():
    s = SourceSpec.parse('csi', 320, 240, 15.0, flip_method=2)
    assert s.kind == 'gstreamer'
    assert s.target == csi_pipeline(320, 240, 15.0, 2, 0)
    assert s.target.startswith('nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM)')
    for part in ('framerate=15/1', 'nvvidconv flip-method=2', 'width=320,height=240,format=BGRx',
                 'format=BGR ! appsink drop=1 max-buffers=1'):
        assert part in s.target
    assert 'sensor-id=1' in SourceSpec.parse('csi:1').target


@pytest.mark.parametrize('spec, fragment', [
    ('videotestsrc ! ! appsink', 'element 2 of 3 is empty'),
    ('videotestsrc ! autovideosink', 'must end in "appsink"'),
    ('video/x-raw ! appsink', 'instead of a source element'),
    ('', 'empty camera source'),
    ('csi:left', 'csi:<sensor id>'),
])
def test_malformed_spec_is_a_config_error(spec, fragment):
    with pytest.raises(SourceConfigError) as err:
        SourceSpec.parse(spec)
    assert fragment in str(err.value)


def test_pipeline_open_error_is_clear():
    src = CameraSource(SourceSpec.parse('nosuchgstelement ! appsink'))
    if gstreamer_available():
        # a real install: the element does not exist, OpenCV refuses the pipeline
        with pytest.raises(SourceUnavailable, match='could not open GStreamer pipeline'):
            src.open()
    else:
        with pytest.raises(SourceConfigError) as err:
            src.open()
        assert 'no GStreamer support' in str(err.value)
        assert 'GStreamer: NO' in str(err.value)


def test_missing_file_and_device_are_unavailable(tmp_path):
    with pytest.raises(SourceUnavailable, match='no such file'):
        CameraSource(SourceSpec.parse(str(tmp_path / 'x.avi'))).open()
    with pytest.raises(SourceUnavailable, match='does not exist'):
        CameraSource(SourceSpec.parse('/dev/video_nanorover_none')).open()


def test_backoff_doubles_and_caps():
    b = Backoff(0.5, 3.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5


def test_file_replays_at_its_rate_and_loops(tmp_path):
    path = make_video(tmp_path / 'v.avi', frames=10, fps=50.0, width=64, height=48)
    src = CameraSource(SourceSpec.parse(path), loop=True).open()
    assert src.fps == 50.0 and (src.width, src.height) == (64, 48)
    t0 = time.monotonic()
    got = [index_of(src.read()) for _ in range(25)]
    elapsed = time.monotonic() - t0
    src.close()
    assert got == [i % 10 for i in range(25)]  # looped twice, in order
    assert elapsed >= 24 / 50.0 * 0.95  # paced, not read as fast as possible


def test_grabber_keeps_newest_counts_drops(tmp_path):
    path = make_video(tmp_path / 'v.avi', frames=60, fps=100.0, width=64, height=48)
    stamps = []

    def clock():
        stamps.append(time.monotonic())
        return stamps[-1]

    g = FrameGrabber(open_source_factory(SourceSpec.parse(path)), clock=clock).start()
    try:
        first = g.wait_frame(10.0)
        assert first is not None
        # a slow consumer: frames pile up in the grabber but only the newest is handed out
        wait_for(lambda: g.stats()['frames'] >= first[2] + 10, 10.0, 'frames while not consuming')
        frame, stamp, seq = g.wait_frame(1.0)
        assert seq >= first[2] + 10 and stamp >= first[1]
        assert g.stats()['dropped'] >= 9
        nxt = g.wait_frame(5.0)  # a frame is handed out once: the next one is newer
        assert nxt is not None and nxt[2] > seq
        assert frame.shape == (48, 64, 3)
        wait_for(lambda: g.measured_fps() > 0, 10.0, 'fps measured')
    finally:
        g.stop()
    assert g.state == 'stopped'


class _Records(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def count(self, level, text):
        return sum(1 for r in self.records if r.levelno == level and text in r.getMessage())


def test_grabber_reports_vanished_file_once_and_recovers(tmp_path):
    path = make_video(tmp_path / 'v.avi', frames=40, fps=50.0, width=64, height=48)
    log = logging.getLogger('test_camera_source.vanish')
    rec = _Records()
    log.addHandler(rec)
    log.propagate = False
    log.setLevel(logging.INFO)
    g = FrameGrabber(open_source_factory(SourceSpec.parse(path), log=log),
                     backoff=Backoff(0.02, 0.05), log=log).start()
    attempts = []
    real_open = g._open_source

    def counting_open():
        attempts.append(1)
        return real_open()

    g._open_source = counting_open
    try:
        wait_for(lambda: g.stats()['frames'] >= 3, 10.0, 'first frames')
        os.rename(path, path + '.away')
        wait_for(lambda: g.stats()['state'] == 'lost', 10.0, 'state lost')
        assert 'disappeared' in g.stats()['last_error']
        n = len(attempts)
        wait_for(lambda: len(attempts) >= n + 5, 10.0, 'several reconnect attempts')
        assert rec.count(logging.WARNING, 'camera source lost') == 1  # one line, no flood
        frames = g.stats()['frames']
        os.rename(path + '.away', path)
        wait_for(lambda: g.stats()['state'] == 'streaming' and g.stats()['frames'] > frames + 3,
                 10.0, 'frames after the file returned')
        assert g.stats()['reconnects'] == 1
        assert rec.count(logging.INFO, 'camera source back') == 1
        assert sum(1 for r in rec.records if r.levelno >= logging.WARNING) == 1
    finally:
        g.stop()


def test_config_error_stops_grabber(tmp_path):
    def bad():
        raise SourceConfigError('no GStreamer support')
    g = FrameGrabber(bad).start()
    try:
        wait_for(lambda: g.stats()['state'] == 'failed', 10.0, 'failed state')
        assert 'GStreamer' in g.stats()['last_error']
    finally:
        g.stop()


def test_stalled_source_shows_in_frame_age(tmp_path):
    """A capture whose read() blocks (a hung pipeline) cannot be interrupted; the grabber's
    stats show it: frame_age grows and the measured rate falls to 0."""
    import threading
    import numpy as np
    release = threading.Event()

    class Hanging(object):
        fps = 30.0
        reads = 0

        def read(self):
            Hanging.reads += 1
            if Hanging.reads > 3:
                release.wait(30.0)
            return np.zeros((4, 4, 3), np.uint8)

        def close(self):
            pass

    g = FrameGrabber(lambda: Hanging(), fps_window=0.3).start()
    try:
        wait_for(lambda: g.stats()['frames'] == 3, 10.0, 'three frames')
        wait_for(lambda: g.stats()['frame_age'] > 0.5, 10.0, 'frame age growing')
        assert g.measured_fps() == 0.0 and g.stats()['state'] == 'streaming'
    finally:
        release.set()
        g.stop()
