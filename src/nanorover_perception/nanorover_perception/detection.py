"""Pure numpy detection core: letterbox, IoU, class-aware NMS and the output decoders.

No ROS, no inference engine: everything here is unit-tested on plain arrays and runs on the robot
(Python 3.6, numpy ~1.19).

Boxes are ``(x1, y1, x2, y2)`` float arrays in pixels of the *network input* until
``Letterbox.to_source`` maps them back to the source image.

Supported output layouts (``LAYOUTS``; see DETECTOR_FACTS.md):

* ``nanorover``  -- our model: one raw head map ``[1, 5 + C, Gh, Gw]`` = objectness logit,
  l/t/r/b distance logits (``exp(t) * stride`` from the cell centre), C class logits.
* ``yolov5``     -- ``[1, N, 5 + C]`` = cx, cy, w, h (input px), objectness, class probabilities.
* ``yolov8``     -- ``[1, 4 + C, N]`` (YOLOv8 / YOLO11) = cx, cy, w, h, class scores.
* ``yolov8_nms`` -- ``[1, K, 6]`` = x1, y1, x2, y2 (input px), score, class (NMS inside the model).
* ``ssd_jetson`` -- jetson-inference pytorch-ssd ONNX: scores ``[1, N, C]`` (softmax, class 0 =
  background) + boxes ``[1, N, 4]`` (x1, y1, x2, y2 in 0..1), no NMS inside.
* ``ssd_tf``     -- TF Object Detection API export: detection_boxes ``[1, K, 4]`` (ymin, xmin, ymax,
  xmax in 0..1), detection_classes, detection_scores ``[1, K]``, num_detections ``[1]``.
* ``opencv_ssd`` -- OpenCV DNN detection output ``[1, 1, K, 7]`` = (image, class, score, x1, y1,
  x2, y2 in 0..1).
"""
import collections

import numpy as np

LAYOUTS = ('nanorover', 'yolov5', 'yolov8', 'yolov8_nms', 'ssd_jetson', 'ssd_tf', 'opencv_ssd')

#: layouts whose boxes are normalised to 0..1 of a plainly resized (not letterboxed) input
NORMALISED_LAYOUTS = ('ssd_jetson', 'ssd_tf', 'opencv_ssd')

#: one detection in source-image pixels
Detection = collections.namedtuple('Detection', 'class_id class_name score x1 y1 x2 y2')


class LayoutError(ValueError):
    """The model's outputs do not match any supported (or the requested) layout."""


# --------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------
def box_iou(a, b):
    """IoU matrix ``[len(a), len(b)]`` of box arrays ``[N, 4]`` / ``[M, 4]`` (x1, y1, x2, y2)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def nms(boxes, scores, iou_threshold):
    """Greedy NMS; returns kept indices sorted by descending score."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='stable')
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        if order.size == 1:
            break
        ious = box_iou(boxes[i], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes, scores, class_ids, iou_threshold):
    """Class-aware NMS: boxes of different classes never suppress each other.

    Uses the coordinate-offset trick (each class shifted into its own region), one NMS pass.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return np.zeros((0,), dtype=np.int64)
    class_ids = np.asarray(class_ids).reshape(-1)
    offset = class_ids.astype(np.float64)[:, None] * (boxes.max() - boxes.min() + 1.0)
    return nms(boxes + offset, scores, iou_threshold)


# --------------------------------------------------------------------------------------------
# preprocessing
# --------------------------------------------------------------------------------------------
class Letterbox(object):
    """Resize keeping the aspect ratio and pad to ``(width, height)`` (YOLO style, grey 114).

    With ``keep_ratio=False`` it is a plain resize (SSD models). ``to_source`` maps boxes from
    network-input pixels back to source pixels.
    """

    def __init__(self, width, height, keep_ratio=True, pad_value=114):
        self.width = int(width)
        self.height = int(height)
        self.keep_ratio = keep_ratio
        self.pad_value = pad_value
        self.sx = self.sy = 1.0
        self.pad_x = self.pad_y = 0.0
        self.src_w = self.src_h = 0

    def __call__(self, image):
        import cv2
        h, w = image.shape[:2]
        self.src_w, self.src_h = w, h
        if not self.keep_ratio:
            self.sx = self.width / float(w)
            self.sy = self.height / float(h)
            self.pad_x = self.pad_y = 0.0
            if (w, h) == (self.width, self.height):
                return image
            return cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        s = min(self.width / float(w), self.height / float(h))
        nw, nh = int(round(w * s)), int(round(h * s))
        self.sx = nw / float(w)
        self.sy = nh / float(h)
        self.pad_x = (self.width - nw) // 2
        self.pad_y = (self.height - nh) // 2
        if (nw, nh) == (self.width, self.height):
            return image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh),
                                                               interpolation=cv2.INTER_LINEAR)
        out = np.full((self.height, self.width, image.shape[2]), self.pad_value, dtype=image.dtype)
        resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh),
                                                              interpolation=cv2.INTER_LINEAR)
        out[self.pad_y:self.pad_y + nh, self.pad_x:self.pad_x + nw] = resized
        return out

    def to_source(self, boxes):
        """``[N, 4]`` boxes in network-input pixels -> source pixels, clipped to the image."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] - self.pad_x) / self.sx
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - self.pad_y) / self.sy
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, self.src_w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, self.src_h)
        return boxes


def to_nchw_float(image_bgr, mean=0.0, scale=1.0 / 255.0):
    """BGR uint8 HxWx3 -> RGB float32 ``[1, 3, H, W]`` ``(x * scale - mean)``."""
    rgb = image_bgr[:, :, ::-1].astype(np.float32)
    rgb *= scale
    if mean:
        rgb -= mean
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))[None]


# --------------------------------------------------------------------------------------------
# decoders: raw outputs -> (boxes [N,4] input px or normalised, scores [N], class ids [N])
# --------------------------------------------------------------------------------------------
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _empty():
    return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64)


def _cxcywh_to_xyxy(b):
    out = np.empty_like(b)
    out[:, 0] = b[:, 0] - b[:, 2] / 2
    out[:, 1] = b[:, 1] - b[:, 3] / 2
    out[:, 2] = b[:, 0] + b[:, 2] / 2
    out[:, 3] = b[:, 1] + b[:, 3] / 2
    return out


def grid_centres(gh, gw, stride):
    """Cell centres ``[gh*gw, 2]`` (x, y) in input pixels, row-major like a head map."""
    ys, xs = np.meshgrid(np.arange(gh, dtype=np.float32), np.arange(gw, dtype=np.float32),
                         indexing='ij')
    return np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)


def decode_nanorover(head, input_hw, score_threshold):
    """Our head map ``[1, 5+C, Gh, Gw]`` -> boxes in input px (see module doc)."""
    head = np.asarray(head, dtype=np.float32)
    _, ch, gh, gw = head.shape
    stride = float(input_hw[0]) / gh
    flat = head[0].reshape(ch, gh * gw).T  # [cells, ch]
    obj = sigmoid(flat[:, 0])
    cls = sigmoid(flat[:, 5:])
    class_ids = np.argmax(cls, axis=1)
    scores = obj * cls[np.arange(cls.shape[0]), class_ids]
    keep = scores >= score_threshold
    if not np.any(keep):
        return _empty()
    centres = grid_centres(gh, gw, stride)[keep]
    dist = np.exp(np.clip(flat[keep, 1:5], -10.0, 10.0)) * stride
    boxes = np.concatenate([centres - dist[:, :2], centres + dist[:, 2:]], axis=1)
    return boxes, scores[keep], class_ids[keep]


def decode_yolov5(out, score_threshold):
    rows = np.asarray(out, dtype=np.float32).reshape(-1, out.shape[-1])
    cls = rows[:, 5:]
    class_ids = np.argmax(cls, axis=1)
    scores = rows[:, 4] * cls[np.arange(rows.shape[0]), class_ids]
    keep = scores >= score_threshold
    return _cxcywh_to_xyxy(rows[keep, :4]), scores[keep], class_ids[keep]


def decode_yolov8(out, score_threshold):
    rows = np.asarray(out, dtype=np.float32)[0].T  # [N, 4 + C]
    cls = rows[:, 4:]
    class_ids = np.argmax(cls, axis=1)
    scores = cls[np.arange(rows.shape[0]), class_ids]
    keep = scores >= score_threshold
    return _cxcywh_to_xyxy(rows[keep, :4]), scores[keep], class_ids[keep]


def decode_yolov8_nms(out, score_threshold):
    rows = np.asarray(out, dtype=np.float32).reshape(-1, 6)
    keep = rows[:, 4] >= max(score_threshold, 1e-9)  # zero padding never passes
    return rows[keep, :4], rows[keep, 4], rows[keep, 5].astype(np.int64)


def decode_ssd_jetson(scores, boxes, score_threshold):
    """Background class 0 is dropped; returned class ids keep the model's numbering."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1, scores.shape[-1])
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    fg = scores[:, 1:]
    class_ids = np.argmax(fg, axis=1) + 1
    best = fg[np.arange(fg.shape[0]), class_ids - 1]
    keep = best >= score_threshold
    return boxes[keep], best[keep], class_ids[keep]


def decode_ssd_tf(boxes, classes, scores, num, score_threshold):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    classes = np.asarray(classes).reshape(-1)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    n = min(int(np.asarray(num).reshape(-1)[0]), boxes.shape[0])
    keep = np.nonzero(scores[:n] >= score_threshold)[0]
    b = boxes[keep][:, [1, 0, 3, 2]]  # ymin xmin ymax xmax -> x1 y1 x2 y2
    return b, scores[keep], classes[keep].astype(np.int64)


def decode_opencv_ssd(out, score_threshold):
    rows = np.asarray(out, dtype=np.float32).reshape(-1, 7)
    keep = rows[:, 2] >= score_threshold
    return rows[keep, 3:7], rows[keep, 2], rows[keep, 1].astype(np.int64)


def _dims(shape):
    return tuple(int(d) for d in shape)


def detect_layout(outputs, names=None):
    """Guess the layout from the output arrays (shapes; names for the TF form) or LayoutError."""
    shapes = [_dims(o.shape) for o in outputs]
    names = [n.lower() for n in (names or [''] * len(outputs))]
    if len(outputs) == 4 and any('detection_boxes' in n for n in names):
        return 'ssd_tf'
    if len(outputs) == 4 and sum(1 for s in shapes if len(s) == 3 and s[-1] == 4) == 1:
        return 'ssd_tf'
    if len(outputs) == 2:
        a, b = shapes
        if len(a) == 3 and len(b) == 3 and a[1] == b[1] and 4 in (a[2], b[2]):
            return 'ssd_jetson'
    if len(outputs) == 1:
        s = shapes[0]
        if len(s) == 4 and s[1] == 1 and s[3] == 7:
            return 'opencv_ssd'
        if len(s) == 4 and s[0] == 1 and s[1] >= 6 and s[2] > 1 and s[3] > 1:
            return 'nanorover'
        if len(s) == 3 and s[0] == 1 and s[2] == 6:
            return 'yolov8_nms'
        if len(s) == 3 and s[0] == 1 and s[1] > s[2] and s[2] >= 6:
            return 'yolov5'
        if len(s) == 3 and s[0] == 1 and s[1] < s[2] and s[1] >= 5:
            return 'yolov8'
    raise LayoutError('unknown output layout: outputs %s%s; supported: %s (set the layout '
                      'parameter explicitly if auto-detection guesses wrong)' % (
                          shapes, (' named %s' % names) if any(names) else '', ', '.join(LAYOUTS)))


def check_layout(layout, outputs, names=None):
    """Raise LayoutError when ``outputs`` cannot be decoded as ``layout``."""
    shapes = [_dims(o.shape) for o in outputs]
    ok = {
        'nanorover': len(shapes) == 1 and len(shapes[0]) == 4 and shapes[0][1] >= 6,
        'yolov5': len(shapes) == 1 and len(shapes[0]) == 3 and shapes[0][2] >= 6,
        'yolov8': len(shapes) == 1 and len(shapes[0]) == 3 and shapes[0][1] >= 5,
        'yolov8_nms': len(shapes) == 1 and len(shapes[0]) == 3 and shapes[0][2] == 6,
        'ssd_jetson': len(shapes) == 2,
        'ssd_tf': len(shapes) == 4,
        'opencv_ssd': len(shapes) == 1 and shapes[0][-1] == 7,
    }
    if layout not in ok:
        raise LayoutError('unknown layout %r; supported: %s' % (layout, ', '.join(LAYOUTS)))
    if not ok[layout]:
        raise LayoutError('model outputs %s do not match layout %r' % (shapes, layout))


def _ordered_ssd_tf(outputs, names):
    """Return (boxes, classes, scores, num) from the 4 TF OD outputs (by name, else by shape)."""
    names = [n.lower() for n in (names or [''] * 4)]
    by = {}
    for key in ('boxes', 'classes', 'scores', 'num'):
        for o, n in zip(outputs, names):
            if key in n:
                by[key] = o
    if len(by) == 4:
        return by['boxes'], by['classes'], by['scores'], by['num']
    boxes = [o for o in outputs if o.ndim == 3]
    rest = [o for o in outputs if o.ndim == 2]
    num = [o for o in outputs if o.ndim <= 1 or o.size == 1]
    if len(boxes) != 1 or len(rest) != 2 or len(num) != 1:
        raise LayoutError('cannot tell the TF OD API outputs apart: %s' % [
            o.shape for o in outputs])
    # classes are integral (stored as float), scores are not
    a, b = rest
    if np.allclose(a, np.round(a)) and not np.allclose(b, np.round(b)):
        return boxes[0], a, b, num[0]
    return boxes[0], b, a, num[0]


def decode(layout, outputs, input_hw, score_threshold, names=None):
    """Dispatch to the decoder of ``layout``; ``outputs`` is the list of model outputs."""
    if layout == 'nanorover':
        return decode_nanorover(outputs[0], input_hw, score_threshold)
    if layout == 'yolov5':
        return decode_yolov5(outputs[0], score_threshold)
    if layout == 'yolov8':
        return decode_yolov8(outputs[0], score_threshold)
    if layout == 'yolov8_nms':
        return decode_yolov8_nms(outputs[0], score_threshold)
    if layout == 'ssd_jetson':
        a, b = outputs
        scores, boxes = (b, a) if a.shape[-1] == 4 and b.shape[-1] != 4 else (a, b)
        return decode_ssd_jetson(scores, boxes, score_threshold)
    if layout == 'ssd_tf':
        return decode_ssd_tf(*(_ordered_ssd_tf(outputs, names) + (score_threshold,)))
    if layout == 'opencv_ssd':
        return decode_opencv_ssd(outputs[0], score_threshold)
    raise LayoutError('unknown layout %r' % layout)


# --------------------------------------------------------------------------------------------
# labels and drawing
# --------------------------------------------------------------------------------------------
def load_labels(path):
    """One label per line; blank lines keep their index (named ``class_<i>``)."""
    labels = []
    with open(path) as f:
        for i, line in enumerate(f):
            name = line.strip()
            labels.append(name if name else 'class_%d' % i)
    return labels


def label_of(labels, class_id):
    if labels and 0 <= class_id < len(labels):
        return labels[class_id]
    return 'class_%d' % class_id


def draw_detections(image_bgr, detections):
    """Annotated copy of ``image_bgr`` (boxes + class + score)."""
    import cv2
    out = image_bgr.copy()
    for d in detections:
        colour = tuple(int(c) for c in (
            (d.class_id * 67) % 256, (d.class_id * 131 + 80) % 256, (d.class_id * 199 + 160) % 256))
        p1 = (int(round(d.x1)), int(round(d.y1)))
        p2 = (int(round(d.x2)), int(round(d.y2)))
        cv2.rectangle(out, p1, p2, colour, 2)
        cv2.putText(out, '%s %.2f' % (d.class_name, d.score), (p1[0], max(10, p1[1] - 3)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return out
