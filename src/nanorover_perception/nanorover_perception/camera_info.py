"""Camera intrinsics, calibration YAML and the two camera messages (Image, CameraInfo).

Used by the camera node, the simulator (renders with :func:`default_intrinsics`) and the detector.
Python 3.6 compatible (runs on the robot).

Conventions
-----------
* Pinhole model as in ``sensor_msgs/CameraInfo`` / OpenCV: pixel *centres* have integer
  coordinates, so an image of width ``w`` spans ``[-0.5, w - 0.5]`` and the ideal principal point
  (optical axis through the image centre) is ``cx = (w - 1) / 2``, ``cy = (h - 1) / 2``.
  This is the convention of ROS ``image_geometry`` (a pixel ``(u, v)`` projects the ray
  ``((u - cx) / fx, (v - cy) / fy, 1)`` in the optical frame: z forward, x right, y down, REP 103).
* ``fx = fy = (w / 2) / tan(hfov / 2)`` (square pixels; the horizontal FOV spans the full width).
* Calibration files use the standard camera_calibration / camera_info_manager YAML format::

      image_width: 320
      image_height: 240
      camera_name: nanorover_camera
      camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
      distortion_model: plumb_bob
      distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, t1, t2, k3]}
      rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
      projection_matrix: {rows: 3, cols: 4, data: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]}
"""
import array
import math

import numpy as np

from nanorover_common.yamlfile import load_yaml

DEFAULT_FRAME_ID = 'camera_optical_frame'
ENCODINGS = ('bgr8', 'rgb8')

# number of distortion coefficients per model (None: any length)
_DIST_LENGTHS = {'plumb_bob': (4, 5, 8, 12, 14), 'rational_polynomial': (8,), 'equidistant': (4,)}


class CameraInfoError(ValueError):
    """A calibration file is missing, unreadable or malformed; the message names file and field."""


def default_intrinsics(width, height, hfov_rad):
    """Ideal pinhole K (3x3 float64) for an uncalibrated camera of horizontal FOV ``hfov_rad``.

    fx = fy = (width/2) / tan(hfov/2); cx = (width-1)/2, cy = (height-1)/2 (ROS/OpenCV convention:
    integer pixel centres, see the module docstring).
    """
    width = int(width)
    height = int(height)
    hfov_rad = float(hfov_rad)
    if width <= 0 or height <= 0:
        raise ValueError('image size must be positive, got %dx%d' % (width, height))
    if not (0.0 < hfov_rad < math.pi):
        raise ValueError('horizontal FOV must be in (0, pi) rad, got %r' % hfov_rad)
    f = (width / 2.0) / math.tan(hfov_rad / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0],
                     [0.0, f, (height - 1) / 2.0],
                     [0.0, 0.0, 1.0]], dtype=np.float64)


def projection_from_k(K):
    """P = [K | 0] (3x4) for a monocular camera."""
    P = np.zeros((3, 4), dtype=np.float64)
    P[:, :3] = np.asarray(K, dtype=np.float64).reshape(3, 3)
    return P


def _matrix(doc, key, rows, cols, path, required=True):
    """Read ``{rows, cols, data}`` entry ``key`` as a float64 array of shape (rows, cols)."""
    if key not in doc:
        if required:
            raise CameraInfoError('%s: missing field %r' % (path, key))
        return None
    entry = doc[key]
    if not isinstance(entry, dict) or 'data' not in entry:
        raise CameraInfoError('%s: field %r must be a mapping {rows, cols, data}, got %r'
                              % (path, key, entry))
    data = entry['data']
    if not isinstance(data, (list, tuple)):
        raise CameraInfoError('%s: %s.data must be a list of numbers, got %r' % (path, key, data))
    try:
        values = np.array([float(v) for v in data], dtype=np.float64)
    except (TypeError, ValueError):
        raise CameraInfoError('%s: %s.data must hold numbers only, got %r' % (path, key, data))
    if not np.all(np.isfinite(values)):
        raise CameraInfoError('%s: %s.data holds a non-finite value: %r' % (path, key, data))
    if rows is None:  # distortion: 1 x N
        if 'cols' in entry and int(entry['cols']) != values.size:
            raise CameraInfoError('%s: %s says cols=%s but data has %d values'
                                  % (path, key, entry['cols'], values.size))
        return values
    declared = (entry.get('rows', rows), entry.get('cols', cols))
    if declared != (rows, cols) or values.size != rows * cols:
        raise CameraInfoError('%s: %s must be %dx%d (%d values); file says rows=%s cols=%s with '
                              '%d values' % (path, key, rows, cols, rows * cols, declared[0],
                                             declared[1], values.size))
    return values.reshape(rows, cols)


def load_camera_info_yaml(path):
    """Read a camera_calibration / camera_info_manager YAML file.

    Returns dict(width, height, camera_name, K (3x3), D (1-D), R (3x3), P (3x4),
    distortion_model). R defaults to identity, P to [K|0], D to no distortion when absent.
    Raises :class:`CameraInfoError` (a ValueError) naming the file and the bad field.
    """
    path = str(path)
    doc = load_yaml(path, CameraInfoError, 'calibration file')
    if not isinstance(doc, dict):
        raise CameraInfoError('calibration file %s: expected a mapping with image_width, '
                              'image_height, camera_matrix, ... (camera_info YAML), got %r'
                              % (path, type(doc).__name__))
    out = {}
    for key, name in (('image_width', 'width'), ('image_height', 'height')):
        if key not in doc:
            raise CameraInfoError('%s: missing field %r' % (path, key))
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise CameraInfoError('%s: %s must be a positive integer, got %r' % (path, key, value))
        out[name] = value
    out['camera_name'] = str(doc.get('camera_name', ''))
    K = _matrix(doc, 'camera_matrix', 3, 3, path)
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CameraInfoError('%s: camera_matrix focal lengths must be positive, got fx=%r fy=%r'
                              % (path, K[0, 0], K[1, 1]))
    out['K'] = K
    model = doc.get('distortion_model', 'plumb_bob')
    if not isinstance(model, str) or not model:
        raise CameraInfoError('%s: distortion_model must be a string, got %r' % (path, model))
    out['distortion_model'] = model
    D = _matrix(doc, 'distortion_coefficients', None, None, path, required=False)
    if D is None:
        D = np.zeros(5 if model == 'plumb_bob' else 0, dtype=np.float64)
    allowed = _DIST_LENGTHS.get(model)
    if allowed is not None and D.size not in allowed and D.size != 0:
        raise CameraInfoError('%s: distortion model %s takes %s coefficients, got %d'
                              % (path, model, ' or '.join(str(n) for n in allowed), D.size))
    out['D'] = D
    R = _matrix(doc, 'rectification_matrix', 3, 3, path, required=False)
    out['R'] = np.eye(3) if R is None else R
    P = _matrix(doc, 'projection_matrix', 3, 4, path, required=False)
    out['P'] = projection_from_k(K) if P is None else P
    return out


def _flat(values, n, what):
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size != n:
        raise ValueError('%s must have %d values, got %d' % (what, n, a.size))
    return a


def _stamp(stamp):
    """None -> zero time; float seconds -> Time; builtin_interfaces/Time passes through."""
    from builtin_interfaces.msg import Time
    if stamp is None:
        return Time()
    if isinstance(stamp, (int, float)):
        from nanorover_common.timeutil import to_time_msg
        return to_time_msg(stamp)
    if hasattr(stamp, 'to_msg'):  # rclpy.time.Time
        return stamp.to_msg()
    return stamp


def camera_info_msg(width, height, K, D=None, P=None, frame_id=DEFAULT_FRAME_ID, stamp=None,
                    distortion_model='plumb_bob', R=None):
    """sensor_msgs/CameraInfo. D defaults to zero distortion (5 for plumb_bob), R to identity,
    P to [K|0]. ``stamp``: builtin_interfaces/Time, rclpy Time, float seconds or None."""
    from sensor_msgs.msg import CameraInfo
    msg = CameraInfo()
    msg.header.frame_id = frame_id
    msg.header.stamp = _stamp(stamp)
    msg.width = int(width)
    msg.height = int(height)
    msg.distortion_model = distortion_model
    if D is None:
        D = [0.0] * 5 if distortion_model == 'plumb_bob' else []
    msg.d = [float(v) for v in np.asarray(D, dtype=np.float64).reshape(-1)]
    msg.k = _flat(K, 9, 'K')
    msg.r = _flat(np.eye(3) if R is None else R, 9, 'R')
    msg.p = _flat(projection_from_k(K) if P is None else P, 12, 'P')
    return msg


def camera_info_msg_from_dict(info, frame_id=DEFAULT_FRAME_ID, stamp=None):
    """CameraInfo from the dict returned by :func:`load_camera_info_yaml`."""
    return camera_info_msg(info['width'], info['height'], info['K'], D=info['D'], P=info['P'],
                           frame_id=frame_id, stamp=stamp,
                           distortion_model=info['distortion_model'], R=info['R'])


def image_data(frame):
    """The bytes of ``frame`` as ``array.array('B')`` — one copy, no per-element work.

    rosidl's ``uint8[]`` setter stores an ``array.array('B')`` as is; ``bytes`` is converted
    (and on Humble, where asserts run unless ``python -O``, iterated element by element);
    a numpy array is converted element by element (~100 ms per VGA frame).
    """
    buf = array.array('B')
    buf.frombytes(np.ascontiguousarray(frame).reshape(-1).data)
    return buf


def image_msg(frame_bgr, encoding='bgr8', frame_id=DEFAULT_FRAME_ID, stamp=None):
    """sensor_msgs/Image from an HxWx3 uint8 BGR frame (OpenCV order).

    ``encoding``: 'bgr8' (as is) or 'rgb8' (channels swapped). Data is filled from the frame's
    bytes (``frame.tobytes()`` equivalent, see :func:`image_data`), never from a numpy array.
    """
    import cv2
    from sensor_msgs.msg import Image
    frame = np.asarray(frame_bgr)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError('expected an HxWx3 uint8 BGR frame, got shape %s dtype %s'
                         % (frame.shape, frame.dtype))
    if encoding == 'rgb8':
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    elif encoding != 'bgr8':
        raise ValueError('encoding must be one of %s, got %r' % (', '.join(ENCODINGS), encoding))
    msg = Image()
    msg.header.frame_id = frame_id
    msg.header.stamp = _stamp(stamp)
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(frame.shape[1] * 3)
    msg.data = image_data(frame)
    return msg


def image_to_bgr(msg):
    """HxWx3 uint8 BGR view/copy of a bgr8 or rgb8 sensor_msgs/Image (no copy for bgr8)."""
    import cv2
    if msg.encoding not in ENCODINGS:
        raise ValueError('unsupported encoding %r (expected %s)' % (msg.encoding,
                                                                    ', '.join(ENCODINGS)))
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)
    frame = rows[:, :msg.width * 3].reshape(msg.height, msg.width, 3)
    if msg.encoding == 'rgb8':
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    return frame
