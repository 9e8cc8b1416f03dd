"""IoU, NMS, letterbox, layout detection and the AP metric (pure numpy, no ROS)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nanorover_perception import detection as det


def test_iou_known_values():
    a = [[0, 0, 10, 10]]
    b = [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 5, 5]]
    np.testing.assert_allclose(det.box_iou(a, b)[0], [1.0, 50 / 150.0, 0.0, 0.25])


def test_iou_degenerate_boxes_are_zero_not_nan():
    iou = det.box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0], [0, 0, 1, 1]])
    assert np.all(np.isfinite(iou)) and np.all(iou == 0)


boxes_st = st.lists(st.tuples(*[st.floats(0, 100, allow_nan=False)] * 4), min_size=1, max_size=6)


def _fix(bs):
    b = np.array(bs, dtype=np.float64)
    return np.stack([np.minimum(b[:, 0], b[:, 2]), np.minimum(b[:, 1], b[:, 3]),
                     np.maximum(b[:, 0], b[:, 2]) + 1, np.maximum(b[:, 1], b[:, 3]) + 1], axis=1)


@settings(max_examples=60, deadline=None)
@given(boxes_st, boxes_st)
def test_iou_properties(a, b):
    a, b = _fix(a), _fix(b)
    m = det.box_iou(a, b)
    assert m.shape == (len(a), len(b))
    assert np.all(m >= 0) and np.all(m <= 1 + 1e-9)
    np.testing.assert_allclose(m, det.box_iou(b, a).T)
    np.testing.assert_allclose(np.diag(det.box_iou(a, a)), 1.0)


def test_nms_suppresses_overlaps_and_keeps_order():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]]
    scores = [0.8, 0.9, 0.5, 0.7]
    keep = det.nms(boxes, scores, 0.5)
    assert keep.tolist() == [1, 2]          # 0 and 3 overlap 1 (IoU 0.68 / 0.62) -> suppressed
    # at 0.7, box 0 (IoU 0.68 with 1) survives and suppresses 3 (IoU 0.9 with 0)
    assert det.nms(boxes, scores, 0.7).tolist() == [1, 0, 2]
    assert det.nms(np.zeros((0, 4)), [], 0.5).tolist() == []


def test_batched_nms_is_class_aware():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]]
    scores = [0.9, 0.8, 0.7]
    assert det.batched_nms(boxes, scores, [0, 0, 1], 0.5).tolist() == [0, 2]
    assert det.batched_nms(boxes, scores, [0, 1, 2], 0.5).tolist() == [0, 1, 2]


@settings(max_examples=40, deadline=None)
@given(boxes_st, st.floats(0.1, 0.9))
def test_nms_result_has_no_overlap_above_threshold(bs, thr):
    b = _fix(bs)
    scores = np.linspace(1, 0.1, len(b))
    keep = det.nms(b, scores, thr)
    assert len(keep) >= 1
    kept = b[keep]
    iou = det.box_iou(kept, kept)
    np.fill_diagonal(iou, 0)
    assert np.all(iou <= thr + 1e-9)


def test_letterbox_pads_and_maps_back():
    img = np.zeros((480, 640, 3), np.uint8)
    lb = det.Letterbox(320, 320)
    out = lb(img)
    assert out.shape == (320, 320, 3)
    assert lb.pad_y == 40 and lb.pad_x == 0
    assert out[0, 0, 0] == 114 and out[100, 100, 0] == 0
    src = np.array([[100, 50, 300, 400]], float)
    net = src * 0.5 + [0, 40, 0, 40]
    np.testing.assert_allclose(lb.to_source(net), src)


def test_plain_resize_mode():
    lb = det.Letterbox(300, 300, keep_ratio=False)
    assert lb(np.zeros((240, 320, 3), np.uint8)).shape == (300, 300, 3)
    np.testing.assert_allclose(lb.to_source([[0, 0, 300, 300]]), [[0, 0, 320, 240]])


@pytest.mark.parametrize('shapes,layout', [
    ([(1, 9, 18, 24)], 'nanorover'),
    ([(1, 25200, 85)], 'yolov5'),
    ([(1, 84, 8400)], 'yolov8'),
    ([(1, 300, 6)], 'yolov8_nms'),
    ([(1, 3000, 21), (1, 3000, 4)], 'ssd_jetson'),
    ([(1, 100, 4), (1, 100), (1, 100), (1,)], 'ssd_tf'),
    ([(1, 1, 100, 7)], 'opencv_ssd'),
])
def test_detect_layout_from_shapes(shapes, layout):
    assert det.detect_layout([np.zeros(s, np.float32) for s in shapes]) == layout


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(det.LayoutError, match=r'unknown output layout.*\(1, 10\)'):
        det.detect_layout([np.zeros((1, 10))])
    with pytest.raises(det.LayoutError, match='do not match layout'):
        det.check_layout('yolov8_nms', [np.zeros((1, 84, 8400))])


def test_coco_ap_metric():
    from nanorover_perception.training.metrics import evaluate_detections
    gt = [(np.array([[0, 0, 10, 10], [20, 20, 40, 40]], float), np.array([0, 1]))]
    perfect = [(gt[0][0], np.array([0.9, 0.8]), np.array([0, 1]))]
    r = evaluate_detections(perfect, gt, 2)
    assert r['map50'] == pytest.approx(1.0) and r['map'] == pytest.approx(1.0)
    # class 0: a high-scoring false positive before the true positive -> precision 0.5 at recall 1
    fp = [(np.array([[50, 50, 60, 60], [0, 0, 10, 10], [20, 20, 40, 40]], float),
           np.array([0.95, 0.9, 0.8]), np.array([0, 0, 1]))]
    r = evaluate_detections(fp, gt, 2)
    assert r['ap50'][0] == pytest.approx(0.5) and r['ap50'][1] == pytest.approx(1.0)
    # a box shifted to IoU 0.68 counts at 0.5..0.65 only: 4 of 10 thresholds
    shifted = [(np.array([[1, 1, 11, 11], [20, 20, 40, 40]], float), np.array([0.9, 0.8]),
                np.array([0, 1]))]
    r = evaluate_detections(shifted, gt, 2)
    assert r['ap'][0] == pytest.approx(0.4) and r['ap50'][0] == pytest.approx(1.0)
    # classes without ground truth are excluded from the mean
    r = evaluate_detections(perfect, gt, 3)
    assert np.isnan(r['ap50'][2]) and r['map50'] == pytest.approx(1.0)
