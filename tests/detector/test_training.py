"""Training smoke run (a few steps) -> ONNX export (opset 13, raw head) -> INT8 QDQ quantization
(head excluded) -> evaluation + model card; plus the shipped models' structure."""
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

torch = pytest.importorskip('torch', reason='training tooling needs torch (dev only)')

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / 'models'


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    from nanorover_perception.training.train import main
    out = tmp_path_factory.mktemp('smoke')
    rc = main(['--steps', '3', '--batch', '4', '--input', '96x64', '--cache', '6',
               '--calib-images', '4', '--eval-images', '4', '--out', str(out), '--quiet'])
    assert rc == 0
    return out


def test_smoke_run_writes_every_artifact(smoke):
    names = {p.name for p in smoke.iterdir()}
    assert {'nanorover_det_fp32.onnx', 'nanorover_det_int8.onnx', 'labels.txt', 'MODEL_CARD.md',
            'pr_curves.png', 'train_summary.json'} <= names
    summary = json.loads((smoke / 'train_summary.json').read_text())
    assert summary['info']['steps'] == 3
    card = (smoke / 'MODEL_CARD.md').read_text()
    assert 'mAP@0.5' in card and 'nanorover_det_int8.onnx' in card
    assert (smoke / 'labels.txt').read_text().split() == ['person', 'chair', 'box', 'cone']


def test_export_is_opset13_raw_head(smoke):
    m = onnx.load(str(smoke / 'nanorover_det_fp32.onnx'))
    assert m.opset_import[0].version == 13
    dims = [d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 9, 8, 12]                      # 5 + 4 classes at stride 8 of 96x64
    assert m.graph.node[-1].op_type == 'Conv'         # no decode in the graph


def test_int8_is_qdq_per_channel_with_the_head_in_float(smoke):
    m = onnx.load(str(smoke / 'nanorover_det_int8.onnx'))
    ops = [n.op_type for n in m.graph.node]
    assert ops.count('QuantizeLinear') >= 5 and ops.count('DequantizeLinear') >= 10
    head = m.graph.node[-1]
    assert head.op_type == 'Conv'
    producers = {o: n for n in m.graph.node for o in n.output}
    # the head conv reads float weights (an initializer), not a DequantizeLinear output
    assert head.input[1] not in producers
    # weights elsewhere are per-channel (a scale vector per conv)
    inits = {i.name: i for i in m.graph.initializer}
    per_channel = [n for n in m.graph.node if n.op_type == 'DequantizeLinear' and
                   n.input[1] in inits and len(inits[n.input[1]].dims) == 1 and
                   inits[n.input[1]].dims[0] > 1]
    assert per_channel
    # U8 activations
    zps = [inits[n.input[2]] for n in m.graph.node if n.op_type == 'QuantizeLinear' and
           len(n.input) > 2 and n.input[2] in inits]
    assert zps and all(z.data_type == onnx.TensorProto.UINT8 for z in zps)


def test_int8_outputs_track_fp32(smoke):
    import onnxruntime as ort
    x = np.random.default_rng(0).random((1, 3, 64, 96), dtype=np.float32)
    outs = [ort.InferenceSession(str(smoke / n), providers=['CPUExecutionProvider']).run(
        None, {'images': x})[0] for n in ('nanorover_det_fp32.onnx', 'nanorover_det_int8.onnx')]
    assert outs[0].shape == outs[1].shape
    assert np.corrcoef(outs[0].ravel(), outs[1].ravel())[0, 1] > 0.9


def test_training_is_seeded(tmp_path):
    """Same seed -> same rendered data and the same first loss."""
    from nanorover_perception.training import data as D
    a = D.SceneSampler(seed=5).sample()
    b = D.SceneSampler(seed=5).sample()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_loss_decreases_on_a_fixed_batch():
    """The loss/target code can learn: 30 steps on one batch cut the loss."""
    from nanorover_perception.training import data as D
    from nanorover_perception.training.model import NanoDetector, detection_loss
    torch.manual_seed(0)
    samples = [D.letterbox_sample(img, b, 96, 64) + (c,) for img, b, c in
               (D.SceneSampler(seed=1).sample() for _ in range(4))]
    x = torch.from_numpy(D.to_tensor_batch([s[0] for s in samples]))
    model = NanoDetector(4, 0.5)
    opt = torch.optim.AdamW(model.parameters(), 5e-3)
    losses = []
    for _ in range(30):
        loss, _ = detection_loss(model(x), [s[1] for s in samples], [s[2] for s in samples], 4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


@pytest.mark.skipif(not (MODELS / 'nanorover_det_int8.onnx').exists(),
                    reason='models/ not trained yet')
def test_shipped_models_are_small_and_documented():
    for name in ('nanorover_det_fp32.onnx', 'nanorover_det_int8.onnx'):
        assert (MODELS / name).stat().st_size < 2 * 1024 * 1024
    card = (MODELS / 'MODEL_CARD.md').read_text()
    for needle in ('mAP@0.5', 'mAP@.5:.95', 'CPU ms', 'Why an anchor-free grid head'):
        assert needle in card


def test_eval_detector_cli_writes_pr_curves_and_metrics(smoke, tmp_path, capsys):
    from nanorover_perception.training.evaluate import main
    out = tmp_path / 'eval'
    rc = main(['--model', str(smoke / 'nanorover_det_fp32.onnx'), '--model',
               str(smoke / 'nanorover_det_int8.onnx'), '--labels', str(smoke / 'labels.txt'),
               '--images', '4', '--threads', '1', '--out', str(out)])
    assert rc == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert set(metrics) == {'nanorover_det_fp32.onnx', 'nanorover_det_int8.onnx'}
    for m in metrics.values():
        assert 0.0 <= m['map'] <= m['map50'] <= 1.0
        assert set(m['ap50']) == {'person', 'chair', 'box', 'cone'}
    assert (out / 'pr_curves.png').stat().st_size > 1000
    assert 'mAP@0.5' in capsys.readouterr().out
