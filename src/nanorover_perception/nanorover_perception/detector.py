"""The detector pipeline: model resolution, backend, preprocessing, decode, NMS (ROS-free).

``Detector(model_path, ...)`` loads and *validates* the model at construction (a warm-up
inference with a blank image checks the input shape and the output layout) so that every
problem surfaces as one ``ModelError`` with a clear message; ``detector(image_bgr)`` returns a
list of ``Detection`` in source-image pixels.
"""
import importlib.util
import os
import time

import numpy as np

from nanorover_perception import detection as det
from nanorover_perception.backends import (DEFAULT_PROVIDERS, ModelError, create_backend)

DEFAULT_MODEL = 'nanorover_det_fp32.onnx'
DEFAULT_LABELS = 'labels.txt'
#: prefix for files shipped inside an installed Python package (e.g. the optional COCO SSD)
PY_PREFIX = 'python:'


def models_dirs():
    """Where relative model/label paths are looked up, in order."""
    dirs = []
    if os.environ.get('NANOROVER_MODELS'):
        dirs.append(os.environ['NANOROVER_MODELS'])
    here = os.path.dirname(os.path.realpath(__file__))
    for _ in range(5):  # the source checkout: <repo>/src/nanorover_perception/nanorover_perception
        here = os.path.dirname(here)
        if os.path.isdir(os.path.join(here, 'models')) and os.path.isdir(os.path.join(here, 'src')):
            dirs.append(os.path.join(here, 'models'))
            break
    try:
        from ament_index_python.packages import get_package_share_directory
        dirs.append(os.path.join(get_package_share_directory('nanorover_perception'), 'models'))
    except Exception:  # not installed as a ROS package (plain checkout, tests)
        pass
    return dirs


def resolve_path(path):
    """Absolute paths as they are; ``python:pkg/rel`` inside an installed package; relative paths
    against the current directory, $NANOROVER_MODELS, the repo's models/ and share/models.

    Returns the first existing candidate, else the most likely one (the error names it).
    """
    if not path:
        return path
    path = os.path.expanduser(path)
    if path.startswith(PY_PREFIX):
        rel = path[len(PY_PREFIX):]
        pkg, _, sub = rel.partition('/')
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ModelError('%s: Python package %r is not installed (for the COCO model: '
                             'make coco-model)' % (path, pkg))
        return os.path.join(list(spec.submodule_search_locations)[0], sub)
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path)
    for d in models_dirs():
        candidate = os.path.join(d, path)
        if os.path.exists(candidate):
            return candidate
    return os.path.abspath(path)


class Detector(object):
    """Backend + layout-specific preprocessing + decoder + class-aware NMS."""

    def __init__(self, model_path, labels_path=DEFAULT_LABELS, layout='auto', backend='auto',
                 providers=DEFAULT_PROVIDERS, input_width=0, input_height=0,
                 score_threshold=0.35, nms_iou=0.45, max_detections=100, threads=0,
                 config_path='', logger=None):
        self.model_path = resolve_path(model_path)
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        self.backend = create_backend(self.model_path, backend=backend, providers=providers,
                                      threads=threads, config_path=resolve_path(config_path),
                                      logger=logger)
        self.labels = []
        if labels_path:
            lp = resolve_path(labels_path)
            if not os.path.isfile(lp):
                raise ModelError('labels file %s does not exist' % lp)
            self.labels = det.load_labels(lp)
        self.input_hw = self._input_size(int(input_width), int(input_height), layout)
        self.nhwc = self.backend.input_dtype == 'uint8' or self._is_nhwc()
        # warm-up with a blank image: checks the input shape, finds/validates the layout
        h, w = self.input_hw
        try:
            outputs = self.backend.run(self._blob(np.full((h, w, 3), 114, np.uint8), 'yolov5'))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError('%s fails on a %dx%d input (wrong input shape?): %s' % (
                self.model_path, w, h, str(exc).strip().splitlines()[0]))
        outputs = [np.asarray(o) for o in outputs]
        names = self.backend.output_names
        if layout == 'auto':
            layout = det.detect_layout(outputs, names)
        else:
            det.check_layout(layout, outputs, names)
        self.layout = layout
        if layout == 'nanorover' and self.labels and outputs[0].shape[1] - 5 != len(self.labels):
            raise ModelError('%s predicts %d classes but %s has %d labels' % (
                self.model_path, outputs[0].shape[1] - 5, labels_path, len(self.labels)))
        self.letterbox = det.Letterbox(w, h, keep_ratio=layout not in det.NORMALISED_LAYOUTS)
        self.timings = {}

    @property
    def description(self):
        return '%s layout=%s input=%dx%d %s' % (os.path.basename(self.model_path), self.layout,
                                                self.input_hw[1], self.input_hw[0],
                                                self.backend.description)

    def _is_nhwc(self):
        s = self.backend.input_shape
        return len(s) == 4 and s[3] == 3 and s[1] != 3

    def _input_size(self, pw, ph, layout):
        shape = self.backend.input_shape
        if len(shape) != 4 or not (shape[1] in (3, None) or shape[3] in (3, None)):
            raise ModelError('wrong input shape: %s has input %r with shape %s; expected an image '
                             '[1, 3, H, W] or [1, H, W, 3]' % (
                                 self.model_path, self.backend.input_name,
                                 ['?' if d is None else d for d in shape]))
        if shape[1] == 3:
            mh, mw = shape[2], shape[3]
        else:
            mh, mw = shape[1], shape[2]
        if mh is not None and mw is not None:
            if (pw and pw != mw) or (ph and ph != mh):
                raise ModelError('wrong input shape: input_width x input_height = %dx%d but %s '
                                 'takes %dx%d (set them to 0 to use the model\'s size)' % (
                                     pw, ph, os.path.basename(self.model_path), mw, mh))
            return mh, mw
        if pw and ph:
            return ph, pw
        if layout == 'opencv_ssd' or self.model_path.endswith('.pb'):
            return 300, 300
        raise ModelError('%s has a dynamic input size: set input_width and input_height' %
                         self.model_path)

    def _blob(self, image, layout):
        if self.nhwc:
            rgb = image[:, :, ::-1]
            if self.backend.input_dtype == 'uint8':
                return np.ascontiguousarray(rgb)[None]
            return np.ascontiguousarray(rgb, dtype=np.float32)[None]
        if layout == 'ssd_jetson':
            return det.to_nchw_float(image, mean=1.0, scale=2.0 / 255.0)
        if layout == 'opencv_ssd':
            return det.to_nchw_float(image, scale=1.0)
        return det.to_nchw_float(image)

    def __call__(self, image_bgr):
        """Detections (list of ``detection.Detection``) of a BGR uint8 image, source pixels."""
        if image_bgr.ndim == 2:
            import cv2
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
        t0 = time.perf_counter()
        blob = self._blob(self.letterbox(image_bgr), self.layout)
        t1 = time.perf_counter()
        outputs = [np.asarray(o) for o in self.backend.run(blob)]
        t2 = time.perf_counter()
        result = self.postprocess(outputs)
        t3 = time.perf_counter()
        self.timings = {'pre_ms': (t1 - t0) * 1e3, 'infer_ms': (t2 - t1) * 1e3,
                        'post_ms': (t3 - t2) * 1e3}
        return result

    def postprocess(self, outputs):
        boxes, scores, class_ids = det.decode(self.layout, outputs, self.input_hw,
                                              self.score_threshold, self.backend.output_names)
        if len(scores) == 0:
            return []
        if self.layout in det.NORMALISED_LAYOUTS:
            boxes = np.asarray(boxes, np.float64) * ([self.input_hw[1], self.input_hw[0]] * 2)
        keep = det.batched_nms(boxes, scores, class_ids, self.nms_iou)[:self.max_detections]
        boxes = self.letterbox.to_source(np.asarray(boxes)[keep])
        out = []
        for b, s, c in zip(boxes, np.asarray(scores)[keep], np.asarray(class_ids)[keep]):
            c = int(c)
            out.append(det.Detection(c, det.label_of(self.labels, c), float(s), float(b[0]),
                                     float(b[1]), float(b[2]), float(b[3])))
        return out
