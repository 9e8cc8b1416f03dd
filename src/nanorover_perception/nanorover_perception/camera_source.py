"""Camera sources (V4L2, GStreamer, video/image-sequence files) and a newest-frame grabber thread.

ROS-free; Python 3.6 compatible (runs on the robot).

Source spec (the camera node's ``source`` parameter)
----------------------------------------------------
* ``csi`` or ``csi:N``  - the Jetson Nano CSI camera (IMX219) N (default 0) through GStreamer,
  pipeline from :func:`csi_pipeline` (width/height/fps/flip from the other settings).
* ``0``, ``1``, ... or ``/dev/videoN`` (or ``v4l2:<index|path>``) - a V4L2 device (USB webcam);
  width/height/fps are requested and read back (the driver may choose others; frames are then
  resized to the requested size and the mismatch is logged once).
* anything containing ``!`` (or ``gst:<pipeline>``) - a GStreamer pipeline ending in ``appsink``.
  Needs an OpenCV built with GStreamer (JetPack's python3-opencv is; pip's opencv-python is not:
  then opening fails with :class:`SourceConfigError` saying so).
* any other string (or ``file:<path>``) - a video file, or an image sequence given as a printf
  pattern (``frames/img_%04d.png``). Replayed in real time at the file's FPS (image sequences
  and files without an FPS: the ``fps`` setting), looping by default.

Errors: :class:`SourceConfigError` for a spec that can never work (malformed pipeline,
GStreamer not compiled in) - permanent; :class:`SourceUnavailable` for a source that is absent
now (device unplugged, file missing, pipeline refused to open) - the grabber retries with backoff.
"""
import logging
import math
import os
import re
import threading
import time
from collections import deque

import cv2
import numpy as np

# the Jetson Nano CSI camera (IMX219): the 1640x1232 sensor mode keeps the full field of view
# (4:3, binned, up to 30 fps); nvvidconv scales it to the requested size on the VIC.
CSI_CAPTURE_SIZE = (1640, 1232)
CSI_MAX_FPS = 30
DEFAULT_FPS = 30.0  # live sources when no fps is given, files without an FPS in their header


class SourceError(Exception):
    """Base of the camera source errors."""


class SourceConfigError(SourceError):
    """The source spec can never work (bad pipeline, missing OpenCV feature): fix the setting."""


class SourceUnavailable(SourceError):
    """The source cannot be opened / read now (device missing, file gone); retrying may help."""


def gstreamer_available():
    """True when this OpenCV build can open GStreamer pipelines (cv2.getBuildInformation())."""
    match = re.search(r'^\s*GStreamer:\s*(\S+)', cv2.getBuildInformation(), re.MULTILINE)
    return bool(match) and match.group(1).upper() != 'NO'


def csi_pipeline(width, height, fps, flip_method=0, sensor_id=0):
    """GStreamer pipeline for the Jetson Nano CSI camera (IMX219) delivering BGR to OpenCV.

    ``nvarguscamerasrc sensor-id=S ! video/x-raw(memory:NVMM),width=1640,height=1232,
    framerate=F/1 ! nvvidconv flip-method=M ! video/x-raw,width=W,height=H,format=BGRx !
    videoconvert ! video/x-raw,format=BGR ! appsink drop=1 max-buffers=1``

    The sensor runs its full-FOV 1640x1232 mode (so the calibrated field of view does not depend
    on the output size) and nvvidconv (hardware) scales to WxH; ``drop=1 max-buffers=1`` keeps
    only the newest frame in the appsink. flip-method: 0 none, 2 rotate 180 (camera mounted
    upside down), 4 horizontal, 6 vertical flip.
    """
    fps = int(round(min(float(fps), CSI_MAX_FPS))) or CSI_MAX_FPS
    cw, ch = CSI_CAPTURE_SIZE
    return ('nvarguscamerasrc sensor-id=%d ! video/x-raw(memory:NVMM),width=%d,height=%d,'
            'framerate=%d/1 ! nvvidconv flip-method=%d ! video/x-raw,width=%d,height=%d,'
            'format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink drop=1 max-buffers=1'
            % (int(sensor_id), cw, ch, fps, int(flip_method), int(width), int(height)))


def check_pipeline(pipeline):
    """None when ``pipeline`` is a well-formed GStreamer description for OpenCV, else why not."""
    elements = [e.strip() for e in pipeline.split('!')]
    for i, element in enumerate(elements):
        if not element:
            return 'element %d of %d is empty (stray "!")' % (i + 1, len(elements))
    if elements[-1].split()[0] != 'appsink':
        return 'it must end in "appsink" for OpenCV to read frames (ends in %r)' % elements[-1]
    if elements[0].split()[0].startswith('video/'):
        return 'it starts with caps %r instead of a source element' % elements[0]
    return None


class SourceSpec(object):
    """A parsed ``source`` setting: kind ('v4l2', 'gstreamer', 'file'), target, description."""

    KINDS = ('v4l2', 'gstreamer', 'file')

    def __init__(self, kind, target, label):
        self.kind = kind
        self.target = target  # int index or device path, pipeline string, file path/pattern
        self.label = label

    def __repr__(self):
        return 'SourceSpec(%s, %r)' % (self.kind, self.target)

    @classmethod
    def parse(cls, spec, width=320, height=240, fps=0.0, flip_method=0):
        """Parse a source spec (module docstring); raises SourceConfigError when malformed."""
        spec = str(spec).strip()
        if not spec:
            raise SourceConfigError('empty camera source: give csi, a V4L2 device (0 or '
                                    '/dev/video0), a GStreamer pipeline or a video file')
        low = spec.lower()
        if low == 'csi' or low.startswith('csi:'):
            sensor = spec[4:] or '0'
            if not sensor.isdigit():
                raise SourceConfigError('camera source %r: expected csi or csi:<sensor id>' % spec)
            pipeline = csi_pipeline(width or 320, height or 240, fps or DEFAULT_FPS,
                                    flip_method, int(sensor))
            return cls('gstreamer', pipeline, 'CSI camera %s (GStreamer)' % sensor)
        if low.startswith('v4l2:'):
            return cls._v4l2(spec[5:])
        if low.startswith('gst:') or '!' in spec:
            pipeline = spec[4:] if low.startswith('gst:') else spec
            reason = check_pipeline(pipeline)
            if reason:
                raise SourceConfigError('bad GStreamer pipeline %r: %s' % (pipeline, reason))
            return cls('gstreamer', pipeline.strip(), 'GStreamer pipeline')
        if low.startswith('file:'):
            return cls('file', os.path.expanduser(spec[5:]), 'file %s' % spec[5:])
        if spec.isdigit() or spec.startswith('/dev/'):
            return cls._v4l2(spec)
        return cls('file', os.path.expanduser(spec), 'file %s' % spec)

    @classmethod
    def _v4l2(cls, dev):
        dev = dev.strip()
        if dev.isdigit():
            return cls('v4l2', int(dev), 'V4L2 device /dev/video%s' % dev)
        if not dev:
            raise SourceConfigError('v4l2: needs a device index or path (v4l2:0, /dev/video0)')
        return cls('v4l2', dev, 'V4L2 device %s' % dev)

    def device_path(self):
        """The filesystem path whose disappearance means the source is gone (None: unknown)."""
        if self.kind == 'v4l2':
            return '/dev/video%d' % self.target if isinstance(self.target, int) else self.target
        if self.kind == 'file' and '%' not in self.target:
            return self.target
        return None


def _to_bgr(frame):
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def require_gstreamer(spec):
    """Raise SourceConfigError when ``spec`` is a GStreamer pipeline and this OpenCV has none."""
    if spec.kind == 'gstreamer' and not gstreamer_available():
        raise SourceConfigError(
            'cannot open %s: this OpenCV build has no GStreamer support '
            '(cv2.getBuildInformation() says GStreamer: NO; pip opencv-python wheels lack '
            'it). Use the system OpenCV with GStreamer (JetPack python3-opencv) or a V4L2 '
            'device / video file source' % spec.label)


class CameraSource(object):
    """One opened capture. ``read()`` returns a BGR uint8 frame or raises SourceUnavailable.

    File sources pace themselves to the file's FPS (real-time replay) and loop when ``loop``.
    """

    def __init__(self, spec, width=0, height=0, fps=0.0, loop=True, fourcc='', log=None):
        self.spec = spec
        self.req_width = int(width)
        self.req_height = int(height)
        self.req_fps = float(fps)
        self.loop = loop
        self.fourcc = fourcc
        self.log = log or logging.getLogger('camera_source')
        self.cap = None
        self.fps = 0.0  # the rate frames come at (file: replay rate)
        self.width = 0
        self.height = 0
        self._next_t = None
        self._fails = 0

    # -- opening ---------------------------------------------------------------------------------
    def open(self):
        spec = self.spec
        if spec.kind == 'gstreamer':
            require_gstreamer(spec)
            cap = cv2.VideoCapture(spec.target, cv2.CAP_GSTREAMER)
        elif spec.kind == 'v4l2':
            path = spec.device_path()
            if not os.path.exists(path):
                raise SourceUnavailable('%s does not exist' % path)
            cap = cv2.VideoCapture(spec.target, cv2.CAP_V4L2)
            if cap.isOpened():
                self._configure_v4l2(cap)
        else:
            path = spec.target
            if '%' not in path and not os.path.isfile(path):
                raise SourceUnavailable('%s: no such file' % path)
            cap = cv2.VideoCapture(path, cv2.CAP_IMAGES if '%' in path else cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            raise SourceUnavailable('OpenCV could not open %s (%r)' % (spec.label, spec.target))
        self.cap = cap
        self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        native = cap.get(cv2.CAP_PROP_FPS)
        native = native if (native and math.isfinite(native) and 0 < native < 1000) else 0.0
        if spec.kind == 'file':
            # replay at the file's own rate; image sequences / headerless files use fps
            self.fps = native if (native and '%' not in spec.target) else (
                self.req_fps or DEFAULT_FPS)
        else:
            self.fps = native or self.req_fps or DEFAULT_FPS
        self._fails = 0
        return self

    def _configure_v4l2(self, cap):
        if self.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc[:4].ljust(4)))
        if self.req_width and self.req_height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.req_width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.req_height)
        if self.req_fps:
            cap.set(cv2.CAP_PROP_FPS, self.req_fps)
        got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
               cap.get(cv2.CAP_PROP_FPS))
        want = (self.req_width or got[0], self.req_height or got[1], self.req_fps or got[2])
        if got[:2] != want[:2] or abs(got[2] - want[2]) > 0.5:
            self.log.warning('%s: asked for %dx%d @ %.1f fps, driver gives %dx%d @ %.1f fps'
                             % ((self.spec.label,) + want + got))

    def close(self):
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    # -- reading ---------------------------------------------------------------------------------
    def _pace(self):
        """File replay: sleep until the next frame is due. A short delay (load) is caught up so
        the average rate stays the file's; a long one (> max(0.5 s, 5 frames)) restarts the
        schedule instead of bursting."""
        period = 1.0 / self.fps
        now = time.monotonic()
        if self._next_t is None or now - self._next_t > max(0.5, 5 * period):
            self._next_t = now  # first frame, or far behind: restart the schedule
        else:
            delay = self._next_t - now
            if delay > 0:
                time.sleep(delay)
        self._next_t += period

    def read(self):
        """Next BGR frame (HxWx3 uint8). Raises SourceUnavailable when the source is gone."""
        if self.cap is None:
            raise SourceUnavailable('not open')
        is_file = self.spec.kind == 'file'
        if is_file:
            self._pace()
        gone = self.spec.device_path()
        if gone is not None and not os.path.exists(gone):
            raise SourceUnavailable('%s disappeared' % gone)
        ok, frame = self.cap.read()
        if not ok and is_file and self.loop:
            # end of the file: start over (reopen, so a replaced file is picked up)
            self.close()
            self.open()
            ok, frame = self.cap.read()
        if not ok or frame is None:
            self._fails += 1
            if is_file and not self.loop:
                raise SourceUnavailable('end of %s (loop is off)' % self.spec.label)
            if self._fails >= 3:
                raise SourceUnavailable('%s: %d reads in a row failed' % (self.spec.label,
                                                                          self._fails))
            return None
        self._fails = 0
        return _to_bgr(frame)


class Backoff(object):
    """Exponential backoff delays: lo, 2*lo, 4*lo, ... capped at hi."""

    def __init__(self, lo=0.5, hi=8.0):
        self.lo = float(lo)
        self.hi = max(float(hi), self.lo)
        self.reset()

    def reset(self):
        self._next = self.lo

    def next(self):
        delay = self._next
        self._next = min(self.hi, self._next * 2.0)
        return delay


class FrameGrabber(object):
    """Reads a source on its own thread, keeping only the newest frame.

    ``open_source()`` returns an opened :class:`CameraSource` (or raises SourceError).
    Each frame is stamped with ``clock()`` right after capture. Frames overwritten before a
    consumer took them count as dropped. A vanished source is logged once (warning), reopened with
    exponential backoff silently, and its return logged once (info). A SourceConfigError stops
    the thread (state 'failed'): retrying cannot fix it.

    States: 'opening', 'streaming', 'lost' (retrying), 'failed' (permanent), 'stopped'.
    """

    def __init__(self, open_source, clock=time.time, backoff=None, log=None, size=None,
                 fps_window=2.0):
        self._open_source = open_source
        self._clock = clock
        self._backoff = backoff or Backoff()
        self.log = log or logging.getLogger('camera_source')
        self.size = size  # (w, h) to resize frames to, or None
        self._fps_window = fps_window
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = None
        self._frame = None
        self._stamp = None
        self._seq = 0
        self._taken_seq = 0
        self._times = deque()
        self.frames = 0
        self.dropped = 0
        self.reconnects = 0
        self.state = 'opening'
        self.last_error = ''
        self.source_fps = 0.0
        self._resize_logged = False

    # -- thread ----------------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._run, name='camera_grabber')
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = 'stopped'

    def _set_state(self, state, error=None):
        with self._cond:
            self.state = state
            if error is not None:
                self.last_error = error
            self._cond.notify_all()

    def _run(self):
        source = None
        was_streaming = False
        lost_since = None
        while not self._stop.is_set():
            if source is None:
                try:
                    source = self._open_source()
                except SourceConfigError as exc:
                    self.log.error('camera source failed permanently: %s' % exc)
                    self._set_state('failed', str(exc))
                    return
                except SourceError as exc:
                    if self.state == 'opening' and not self.last_error:
                        self.log.error('cannot open camera source: %s; retrying with backoff '
                                       '%.1f..%.1f s' % (exc, self._backoff.lo, self._backoff.hi))
                    self._set_state('opening' if not was_streaming else 'lost', str(exc))
                    self._stop.wait(self._backoff.next())
                    continue
                self._backoff.reset()
                self.source_fps = source.fps
                if was_streaming:
                    self.reconnects += 1
                    self.log.info('camera source back after %.1f s (reconnect #%d)'
                                  % (time.monotonic() - lost_since, self.reconnects))
                elif self.last_error:
                    self.log.info('camera source opened after retrying')
                self._set_state('streaming', '')
                was_streaming = True
            try:
                frame = source.read()
            except SourceError as exc:
                source.close()
                source = None
                lost_since = time.monotonic()
                self.log.warning('camera source lost: %s; reconnecting with backoff %.1f..%.1f s'
                                 % (exc, self._backoff.lo, self._backoff.hi))
                self._set_state('lost', str(exc))
                self._stop.wait(self._backoff.next())
                continue
            if frame is None:
                continue
            self._publish(frame)
        if source is not None:
            source.close()

    def _publish(self, frame):
        stamp = self._clock()
        if self.size is not None and (frame.shape[1], frame.shape[0]) != tuple(self.size):
            if not self._resize_logged:
                self._resize_logged = True
                self.log.warning('camera delivers %dx%d, resizing to %dx%d'
                                 % (frame.shape[1], frame.shape[0], self.size[0], self.size[1]))
            frame = cv2.resize(frame, tuple(self.size), interpolation=cv2.INTER_AREA)
        now = time.monotonic()
        with self._cond:
            if self._frame is not None and self._taken_seq < self._seq:
                self.dropped += 1
            self._frame = frame
            self._stamp = stamp
            self._seq += 1
            self.frames += 1
            self._times.append(now)
            while self._times and now - self._times[0] > self._fps_window:
                self._times.popleft()
            self._cond.notify_all()

    # -- consumer side ---------------------------------------------------------------------------
    def wait_frame(self, timeout=1.0):
        """Block until a frame newer than the last one taken exists; returns (frame, stamp, seq)
        or None on timeout/stop. The frame is never modified afterwards (safe to read)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq == self._taken_seq and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._seq == self._taken_seq:
                return None
            self._taken_seq = self._seq
            return self._frame, self._stamp, self._seq

    def measured_fps(self):
        with self._cond:
            times = list(self._times)
        if len(times) < 2 or time.monotonic() - times[-1] > self._fps_window:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def stats(self):
        """state, frames, dropped, reconnects, last_error, fps (measured), source_fps,
        frame_age (s since the newest frame; None before the first)."""
        with self._cond:
            age = time.monotonic() - self._times[-1] if self._times else None
            return {'state': self.state, 'frames': self.frames, 'dropped': self.dropped,
                    'frame_age': age,
                    'reconnects': self.reconnects, 'last_error': self.last_error,
                    'fps': self.measured_fps(),
                    'source_fps': self.source_fps}


def open_source_factory(spec, width=0, height=0, fps=0.0, loop=True, fourcc='', log=None):
    """A callable opening ``spec`` (a SourceSpec) as a CameraSource, for FrameGrabber."""
    def _open():
        return CameraSource(spec, width, height, fps, loop, fourcc, log).open()
    return _open


def synthetic_frame(index, width, height):
    """Test/benchmark pattern that survives lossy (MJPG) coding.

    B = 16 * (index % 16) + 8, G = 16 * ((index // 16) % 16) + 8 (flat planes: the frame counter
    modulo 256), R = a left-to-right ramp 0..255 (tells bgr8 from rgb8 order).
    """
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:, :, 0] = 16 * (index % 16) + 8
    frame[:, :, 1] = 16 * ((index // 16) % 16) + 8
    frame[:, :, 2] = (np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8)[None, :]
    return frame


def synthetic_index(frame_bgr):
    """The frame counter (mod 256) of a :func:`synthetic_frame` (BGR order)."""
    b = int(round((float(frame_bgr[:, :, 0].mean()) - 8.0) / 16.0)) % 16
    g = int(round((float(frame_bgr[:, :, 1].mean()) - 8.0) / 16.0)) % 16
    return g * 16 + b
