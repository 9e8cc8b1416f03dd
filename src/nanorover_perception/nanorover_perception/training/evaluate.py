"""``nanorover eval-detector``: AP per class, mAP@0.5 and mAP@.5:.95 of ONNX models on a held-out
rendered set (another world and seed than training), PR curves as PNG, CPU latency.

    nanorover eval-detector [--model models/nanorover_det_fp32.onnx --model models/..int8.onnx]
                            [--world hall] [--images 300] [--seed 777] [--out runs/eval]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from nanorover_perception.detection import LAYOUTS  # noqa: F401 (documented choices)
from nanorover_perception.detector import Detector, resolve_path
from nanorover_perception.training.metrics import evaluate_detections

DEFAULT_MODELS = ('nanorover_det_fp32.onnx', 'nanorover_det_int8.onnx')
HELDOUT_SEED = 777
EVAL_SCORE_THRESHOLD = 0.01


def predict(detector, samples):
    """Run ``detector`` over (image, boxes, cls) samples -> per-image (boxes, scores, cls)."""
    preds = []
    for image, _, _ in samples:
        dets = detector(image)
        preds.append((np.array([[d.x1, d.y1, d.x2, d.y2] for d in dets], np.float64).reshape(-1, 4),
                      np.array([d.score for d in dets], np.float64),
                      np.array([d.class_id for d in dets], np.int64)))
    return preds


def evaluate_model(model_path, samples, labels_path='labels.txt', threads=2):
    det = Detector(model_path, labels_path=labels_path, score_threshold=EVAL_SCORE_THRESHOLD,
                   nms_iou=0.5, max_detections=100, threads=threads, providers=('cpu',))
    preds = predict(det, samples)
    gts = [(b, c) for _, b, c in samples]
    res = evaluate_detections(preds, gts, len(det.labels))
    res['labels'] = det.labels
    res['input_hw'] = det.input_hw
    return res


def measure_latency(model_path, threads=2, runs=200, warmup=20):
    """Median ONNX Runtime CPU latency (ms) of one inference at the model's input size."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, sess_options=opts, providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).random([int(d) for d in inp.shape], dtype=np.float32)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def plot_pr(results, out_png):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(results)
    labels = results[names[0]]['labels']
    fig, axes = plt.subplots(1, len(labels), figsize=(4 * len(labels), 3.6), squeeze=False)
    for c, label in enumerate(labels):
        ax = axes[0, c]
        for name in names:
            curve = results[name]['curves'].get(c)
            if curve is None:
                continue
            ax.plot(curve[0], curve[1], label='%s AP50=%.3f' % (name, results[name]['ap50'][c]))
        ax.set_title(label)
        ax.set_xlabel('recall')
        ax.set_ylabel('precision')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='lower left')
    fig.suptitle('PR curves at IoU 0.5 (held-out rendered set)')
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def summary_table(results, latency=None, threads=1):
    names = list(results)
    labels = results[names[0]]['labels']
    lines = ['| model | mAP@0.5 | mAP@.5:.95 | %s%s |' % (
        ' | '.join('AP50 %s' % l for l in labels),
        ' | CPU ms (%d thread%s)' % (threads, 's' if threads > 1 else '') if latency else ''),
        '|---' * (3 + len(labels) + (1 if latency else 0)) + '|']
    for n in names:
        r = results[n]
        row = '| %s | %.3f | %.3f | %s' % (n, r['map50'], r['map'],
                                           ' | '.join('%.3f' % v for v in r['ap50']))
        if latency:
            row += ' | %.2f' % latency[n]
        lines.append(row + ' |')
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog='nanorover eval-detector', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', action='append', help='ONNX model(s) (default: the shipped FP32 '
                    'and INT8 models)')
    ap.add_argument('--labels', default='labels.txt')
    ap.add_argument('--world', default=None, help='held-out world (default: hall)')
    ap.add_argument('--images', type=int, default=300, help='held-out images to render')
    ap.add_argument('--seed', type=int, default=HELDOUT_SEED)
    ap.add_argument('--threads', type=int, default=1, help='ONNX Runtime intra-op threads')
    ap.add_argument('--latency', action='store_true', help='also measure CPU latency')
    ap.add_argument('--out', default='runs/eval', help='folder for pr_curves.png + metrics.json')
    args = ap.parse_args(argv)
    from nanorover_perception.training.data import HELDOUT_WORLD, render_set
    world = args.world or HELDOUT_WORLD
    models = args.model or list(DEFAULT_MODELS)
    print('rendering %d held-out images of world %s (seed %d)...' % (args.images, world, args.seed))
    samples = render_set(world, args.images, args.seed)
    results, latency = {}, {}
    for m in models:
        path = resolve_path(m)
        results[os.path.basename(path)] = evaluate_model(path, samples, args.labels, args.threads)
        if args.latency:
            latency[os.path.basename(path)] = measure_latency(path, args.threads)
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, 'pr_curves.png')
    plot_pr(results, png)
    table = summary_table(results, latency or None, args.threads)
    print(table)
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump({n: {'map50': r['map50'], 'map': r['map'],
                       'ap50': dict(zip(r['labels'], [float(v) for v in r['ap50']])),
                       'ap': dict(zip(r['labels'], [float(v) for v in r['ap']])),
                       'latency_ms': latency.get(n)} for n, r in results.items()}, f, indent=1)
    print('PR curves: %s' % png)
    return 0


if __name__ == '__main__':
    sys.exit(main())
