"""Every supported output layout, end to end through ONNX Runtime with graphs of KNOWN outputs:
preprocessing -> backend -> auto-detected layout -> decoder -> class-aware NMS -> source pixels.
Plus the clear-error paths (missing / broken model, wrong input shape, unknown layout)."""
import math

import numpy as np
import pytest

from nanorover_perception.backends import ModelError
from nanorover_perception.detection import LayoutError
from nanorover_perception.detector import Detector, resolve_path
from onnx_fixtures import const_model

SRC_W, SRC_H = 640, 480          # source image; the YOLO-style models take 320x320 (letterbox)
IMG = np.full((SRC_H, SRC_W, 3), 60, np.uint8)


def yolo_to_src(box):
    """input px (scale 0.5, pad_y 40) -> source px."""
    x1, y1, x2, y2 = box
    return (x1 * 2, (y1 - 40) * 2, x2 * 2, (y2 - 40) * 2)


# (class, score, box in 320x320 input px); NMS must drop the near-duplicate of A of class 0
A = (0, 0.81, (100, 100, 200, 200))
A_DUP = (0, 0.72, (105, 100, 205, 200))
A_OTHER_CLASS = (1, 0.72, (100, 100, 200, 200))
D = (2, 0.45, (10, 50, 60, 90))
LOW = (2, 0.09, (200, 200, 250, 250))
EXPECTED_YOLO = [(c, s, yolo_to_src(b)) for c, s, b in (A, A_OTHER_CLASS, D)]


@pytest.fixture
def labels3(tmp_path):
    p = tmp_path / 'labels.txt'
    p.write_text('alpha\nbeta\ngamma\n')
    return str(p)


def check(dets, expected, tol=0.6):
    got = sorted(dets, key=lambda d: -d.score)
    assert len(got) == len(expected), got
    for d, (c, s, box) in zip(got, expected):
        assert d.class_id == c
        assert d.score == pytest.approx(s, abs=1e-3)
        np.testing.assert_allclose([d.x1, d.y1, d.x2, d.y2], box, atol=tol)


def cxcywh(b):
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1])


def test_yolov5(tmp_path, labels3):
    rows = []
    for c, s, b in (A, A_DUP, A_OTHER_CLASS, D, LOW):
        cls = [0.05, 0.05, 0.05]
        cls[c] = 0.9
        rows.append(list(cxcywh(b)) + [s / 0.9] + cls)
    rows += [[0.0] * 8] * 94             # real exports have N >> 5 + C (auto-detection)
    model = const_model(tmp_path / 'v5.onnx', {'output0': np.array([rows])})
    det = Detector(model, labels_path=labels3, score_threshold=0.3)
    assert det.layout == 'yolov5' and det.input_hw == (320, 320)
    dets = det(IMG)
    check(dets, EXPECTED_YOLO)
    names = [d.class_name for d in sorted(dets, key=lambda d: -d.score)]
    assert names == ['alpha', 'beta', 'gamma']


def test_yolov8(tmp_path, labels3):
    cols = []
    for c, s, b in (A, A_DUP, A_OTHER_CLASS, D, LOW):
        cls = [0.01, 0.01, 0.01]
        cls[c] = s
        cols.append(list(cxcywh(b)) + cls)
    cols += [[0.0] * 7] * 95
    out = np.array(cols, np.float32).T[None]      # [1, 4 + C, N]
    assert out.shape == (1, 7, 100)
    det = Detector(const_model(tmp_path / 'v8.onnx', {'output0': out}), labels_path=labels3,
                   score_threshold=0.3)
    assert det.layout == 'yolov8'
    check(det(IMG), EXPECTED_YOLO)


def test_yolov8_nms_form(tmp_path, labels3):
    out = np.zeros((1, 300, 6), np.float32)
    for i, (c, s, b) in enumerate((A, A_OTHER_CLASS, D, LOW)):
        out[0, i] = list(b) + [s, c]
    det = Detector(const_model(tmp_path / 'v8nms.onnx', {'output0': out}), labels_path=labels3,
                   score_threshold=0.3)
    assert det.layout == 'yolov8_nms'
    check(det(IMG), EXPECTED_YOLO)


def test_nanorover_head(tmp_path, labels3):
    gh = gw = 40                                    # 320 / stride 8
    head = np.full((1, 8, gh, gw), -8.0, np.float32)

    def put(row, col, box, cls, logit=5.0):
        cx, cy = (col + 0.5) * 8, (row + 0.5) * 8
        l, t, r, b = cx - box[0], cy - box[1], box[2] - cx, box[3] - cy
        head[0, 0, row, col] = logit
        head[0, 1:5, row, col] = [math.log(v / 8.0) for v in (l, t, r, b)]
        head[0, 5 + cls, row, col] = logit
    put(18, 18, (100, 100, 200, 200), 0)
    put(18, 19, (104, 100, 204, 200), 0, logit=3.0)    # duplicate, lower score -> NMS
    put(8, 4, (10, 50, 60, 90), 2, logit=4.0)
    det = Detector(const_model(tmp_path / 'nr.onnx', {'head': head}), labels_path=labels3,
                   score_threshold=0.3)
    assert det.layout == 'nanorover'
    s5, s4 = 1 / (1 + math.exp(-5.0)), 1 / (1 + math.exp(-4.0))
    check(det(IMG), [(0, s5 * s5, yolo_to_src((100, 100, 200, 200))),
                     (2, s4 * s4, yolo_to_src((10, 50, 60, 90)))], tol=1e-3)


def test_nanorover_label_count_mismatch_is_reported(tmp_path):
    model = const_model(tmp_path / 'nr.onnx', {'head': np.zeros((1, 8, 40, 40))})
    two = tmp_path / 'two.txt'
    two.write_text('a\nb\n')
    with pytest.raises(ModelError, match='predicts 3 classes but .* has 2 labels'):
        Detector(model, labels_path=str(two))


def test_ssd_jetson(tmp_path):
    labels = tmp_path / 'voc.txt'
    labels.write_text('BACKGROUND\ncat\ndog\n')
    scores = np.array([[[0.05, 0.9, 0.05],     # cat
                        [0.1, 0.8, 0.1],       # cat, overlapping -> NMS
                        [0.2, 0.1, 0.7],       # dog, same box as the first: class-aware, kept
                        [0.9, 0.05, 0.05]]],   # background
                      np.float32)
    boxes = np.array([[[0.1, 0.2, 0.3, 0.4], [0.11, 0.2, 0.31, 0.4], [0.1, 0.2, 0.3, 0.4],
                       [0.5, 0.5, 0.6, 0.6]]], np.float32)
    det = Detector(const_model(tmp_path / 'ssd.onnx', {'scores': scores, 'boxes': boxes},
                               input_shape=(1, 3, 300, 300)),
                   labels_path=str(labels), score_threshold=0.3)
    assert det.layout == 'ssd_jetson'
    dets = det(IMG)
    check(dets, [(1, 0.9, (64, 96, 192, 192)), (2, 0.7, (64, 96, 192, 192))], tol=1e-3)
    assert sorted(d.class_name for d in dets) == ['cat', 'dog']


def test_ssd_tf_od_api(tmp_path):
    boxes = np.array([[[0.2, 0.1, 0.4, 0.3], [0.5, 0.5, 0.9, 0.9], [0.0, 0.0, 1.0, 1.0],
                       [0.0, 0.0, 0.0, 0.0]]])
    outputs = {'detection_boxes': boxes,
               'detection_classes': np.array([[1.0, 17.0, 3.0, 0.0]]),
               'detection_scores': np.array([[0.9, 0.6, 0.95, 0.0]]),   # 3rd is beyond num
               'num_detections': np.array([2.0])}
    det = Detector(const_model(tmp_path / 'tf.onnx', outputs, input_shape=(1, 300, 300, 3),
                               input_dtype=np.uint8, input_name='image_tensor'),
                   labels_path='coco_labels.txt', score_threshold=0.3)
    assert det.layout == 'ssd_tf' and det.nhwc
    dets = det(IMG)
    check(dets, [(1, 0.9, (64, 96, 192, 192)), (17, 0.6, (320, 240, 576, 432))], tol=1e-3)
    assert [d.class_name for d in dets] == ['person', 'cat']


def test_opencv_detection_output_form(tmp_path):
    out = np.zeros((1, 1, 3, 7), np.float32)
    out[0, 0, 0] = [0, 1, 0.8, 0.1, 0.2, 0.3, 0.4]
    out[0, 0, 1] = [0, 47, 0.5, 0.5, 0.5, 0.6, 0.6]
    out[0, 0, 2] = [0, 62, 0.1, 0.0, 0.0, 1.0, 1.0]
    det = Detector(const_model(tmp_path / 'cv.onnx', {'detection_out': out},
                               input_shape=(1, 3, 300, 300)),
                   labels_path='coco_labels.txt', score_threshold=0.3)
    assert det.layout == 'opencv_ssd'
    check(det(IMG), [(1, 0.8, (64, 96, 192, 192)), (47, 0.5, (320, 240, 384, 288))], tol=1e-3)


def test_explicit_layout_must_match(tmp_path):
    model = const_model(tmp_path / 'v5.onnx', {'o': np.zeros((1, 100, 85))})
    with pytest.raises(LayoutError, match=r"do not match layout 'yolov8_nms'"):
        Detector(model, labels_path='', layout='yolov8_nms')


def test_unknown_output_layout(tmp_path):
    model = const_model(tmp_path / 'odd.onnx', {'o': np.zeros((1, 10))})
    with pytest.raises(LayoutError, match='unknown output layout'):
        Detector(model, labels_path='')


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match='does not exist'):
        Detector(str(tmp_path / 'nope.onnx'))


def test_broken_model_file(tmp_path):
    bad = tmp_path / 'broken.onnx'
    bad.write_bytes(b'\x00this is not a protobuf\xff' * 10)
    with pytest.raises(ModelError, match='onnxruntime cannot load'):
        Detector(str(bad))


def test_wrong_input_shape(tmp_path):
    model = const_model(tmp_path / 'flat.onnx', {'o': np.zeros((1, 100, 85))}, input_shape=(1, 10))
    with pytest.raises(ModelError, match=r'wrong input shape.*\[1, 10\]'):
        Detector(model, labels_path='')
    model = const_model(tmp_path / 'v5.onnx', {'o': np.zeros((1, 100, 85))})
    with pytest.raises(ModelError, match=r'wrong input shape: .*640x640 but v5.onnx takes 320x320'):
        Detector(model, labels_path='', input_width=640, input_height=640)


def test_dynamic_input_needs_a_size(tmp_path):
    model = const_model(tmp_path / 'dyn.onnx', {'o': np.zeros((1, 100, 85))},
                        input_shape=(1, 3, 'h', 'w'))
    with pytest.raises(ModelError, match='dynamic input size'):
        Detector(model, labels_path='')
    det = Detector(model, labels_path='', input_width=256, input_height=192)
    assert det.input_hw == (192, 256)


class ListLogger(object):
    def __init__(self):
        self.lines = []

    def warning(self, msg):
        self.lines.append(msg)

    info = error = warning


def test_provider_priority_falls_back_with_a_log_line(tmp_path):
    import onnxruntime as ort
    model = const_model(tmp_path / 'v5.onnx', {'o': np.zeros((1, 100, 85))})
    log = ListLogger()
    det = Detector(model, labels_path='', providers=['tensorrt', 'cuda', 'cpu'], logger=log)
    missing = [p for p in ('TensorrtExecutionProvider', 'CUDAExecutionProvider')
               if p not in ort.get_available_providers()]
    assert len(log.lines) == len(missing)
    for p, line in zip(missing, log.lines):
        assert p in line and 'falling back' in line
    assert det.backend.providers[-1] == 'CPUExecutionProvider'


def test_model_paths_resolve_against_nanorover_models(tmp_path, monkeypatch):
    const_model(tmp_path / 'mine.onnx', {'o': np.zeros((1, 100, 85))})
    monkeypatch.setenv('NANOROVER_MODELS', str(tmp_path))
    assert resolve_path('mine.onnx') == str(tmp_path / 'mine.onnx')
    assert resolve_path('labels.txt').endswith('models/labels.txt')   # the repo's models/
    with pytest.raises(ModelError, match='not installed .*make coco-model'):
        resolve_path('python:surely_not_a_package_xyz/model.pb')
