"""ONNX export (opset 13, raw head maps, no decode) and static INT8 QDQ quantization."""
import os
import warnings

import numpy as np
import onnx
import torch

OPSET = 13
INPUT_NAME = 'images'
OUTPUT_NAME = 'head'


def export_onnx(model, path, width, height):
    """Export ``model`` (eval mode, batch 1, fixed size) to ``path``; returns the path."""
    model = model.eval()
    dummy = torch.zeros(1, 3, height, width)
    tmp = path + '.tmp'
    with torch.no_grad(), warnings.catch_warnings():
        # dynamo=False is the TorchScript exporter on purpose (opset 13 for TensorRT 8.2)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(model, dummy, tmp, opset_version=OPSET, dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          do_constant_folding=True)
    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    m.producer_name = 'nanorover_perception.training'
    m.doc_string = ('nanorover detector: input images [1,3,%d,%d] RGB /255 (letterbox 114); output '
                    'head [1,5+C,H/8,W/8] raw (obj logit, ltrb log-distances in strides, class '
                    'logits); decode: nanorover_perception.detection.decode_nanorover' % (
                        height, width))
    onnx.save(m, tmp)
    os.replace(tmp, path)
    return path


def head_node_names(onnx_path):
    """The node(s) producing the graph output: the final 1x1 head conv (kept in float)."""
    m = onnx.load(onnx_path)
    outs = {o.name for o in m.graph.output}
    return [n.name for n in m.graph.node if any(o in outs for o in n.output)]


def _calibration_reader(batches):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._batches = list(batches)
            self._it = iter(self._batches)

        def get_next(self):
            blob = next(self._it, None)
            return None if blob is None else {INPUT_NAME: blob}

        def rewind(self):
            self._it = iter(self._batches)

    return Reader()

def quantize_int8(fp32_path, int8_path, calib_blobs):
    """QDQ U8S8 per-channel static quantization (MinMax) with the head conv excluded.

    ``calib_blobs``: iterable of float32 [1, 3, H, W] input blobs (rendered images).
    """
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = int8_path + '.pre.onnx'
    quant_pre_process(fp32_path, pre, skip_symbolic_shape=True)
    try:
        quantize_static(pre, int8_path, _calibration_reader(calib_blobs),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=head_node_names(pre))
    finally:
        if os.path.exists(pre):
            os.remove(pre)
    return int8_path


def count_quantized(onnx_path):
    m = onnx.load(onnx_path)
    ops = [n.op_type for n in m.graph.node]
    return ops.count('QuantizeLinear'), ops.count('DequantizeLinear')


def calibration_blobs(images, width, height):
    from nanorover_perception.training.data import letterbox_sample, to_tensor_batch
    for img in images:
        lb, _ = letterbox_sample(img, np.zeros((0, 4), np.float32), width, height)
        yield to_tensor_batch([lb])
