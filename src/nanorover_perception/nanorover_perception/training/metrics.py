"""COCO-style average precision (101-point interpolation) per class and IoU threshold."""
import warnings

import numpy as np

from nanorover_perception.detection import box_iou

IOU_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def match_class(dets, gts, iou_thr):
    """Greedy COCO matching for one class over all images.

    dets: list per image of (boxes [n,4], scores [n]); gts: list per image of boxes [m,4].
    Returns (scores [N], true-positive flags [N], number of ground-truth boxes).
    """
    all_scores, all_tp = [], []
    n_gt = 0
    for (boxes, scores), gt in zip(dets, gts):
        n_gt += len(gt)
        if len(scores) == 0:
            continue
        order = np.argsort(-np.asarray(scores), kind='stable')
        boxes = np.asarray(boxes)[order]
        scores = np.asarray(scores)[order]
        tp = np.zeros(len(scores), bool)
        if len(gt):
            ious = box_iou(boxes, gt)
            used = np.zeros(len(gt), bool)
            for i in range(len(scores)):
                cand = np.where(used, -1.0, ious[i])
                j = int(np.argmax(cand))
                if cand[j] >= iou_thr:
                    used[j] = True
                    tp[i] = True
        all_scores.append(scores)
        all_tp.append(tp)
    if not all_scores:
        return np.zeros(0), np.zeros(0, bool), n_gt
    return np.concatenate(all_scores), np.concatenate(all_tp), n_gt


def pr_curve(scores, tp, n_gt):
    """(recall, precision) arrays sorted by descending score."""
    if n_gt == 0 or len(scores) == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-scores, kind='stable')
    tp = tp[order]
    ctp = np.cumsum(tp)
    cfp = np.cumsum(~tp)
    return ctp / float(n_gt), ctp / np.maximum(ctp + cfp, 1e-12)


def average_precision(recall, precision):
    """COCO 101-point interpolated AP from a PR curve (precision envelope)."""
    if len(recall) == 0:
        return 0.0
    env = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_POINTS, side='left')
    vals = np.where(idx < len(env), env[np.minimum(idx, len(env) - 1)], 0.0)
    return float(vals.mean())


def evaluate_detections(predictions, ground_truth, num_classes):
    """predictions: per image (boxes [n,4], scores [n], class ids [n]);
    ground_truth: per image (boxes [m,4], class ids [m]).

    Returns dict: ap50[c], ap[c] (mean over .50:.95), map50, map, curves{c: (recall, precision)}
    at IoU 0.5; classes without ground truth are left out of the means (NaN).
    """
    ap = np.full((num_classes, len(IOU_THRESHOLDS)), np.nan)
    curves = {}
    for c in range(num_classes):
        dets = [(b[k == c], s[k == c]) for b, s, k in predictions]
        gts = [gb[gk == c] for gb, gk in ground_truth]
        if sum(len(g) for g in gts) == 0:
            continue
        for t, thr in enumerate(IOU_THRESHOLDS):
            scores, tp, n_gt = match_class(dets, gts, thr)
            r, p = pr_curve(scores, tp, n_gt)
            ap[c, t] = average_precision(r, p)
            if t == 0:
                curves[c] = (r, p)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        ap50 = ap[:, 0]
        apm = np.nanmean(ap, axis=1) if np.isfinite(ap).any() else ap[:, 0]
    return {'ap50': ap50, 'ap': apm, 'map50': float(np.nanmean(ap50)),
            'map': float(np.nanmean(apm)), 'curves': curves}
