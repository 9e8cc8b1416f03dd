"""The native TensorRT engine backend needs a Jetson / NVIDIA GPU with the tensorrt module."""
import pytest

from nanorover_perception.backends import ModelError, create_backend, tensorrt_available


@pytest.mark.skipif(not tensorrt_available(),
                    reason='TensorRT is not installed here (no GPU); runs on a Jetson: build an '
                           'engine with src/nanorover_perception/scripts/build_trt_engine.sh')
def test_tensorrt_engine_backend_runs(tmp_path):  # pragma: no cover - needs a GPU
    import os
    import subprocess
    import numpy as np
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    engine = str(tmp_path / 'det.engine')
    script = os.path.join(repo, 'src/nanorover_perception/scripts/build_trt_engine.sh')
    subprocess.check_call([script, os.path.join(repo, 'models/nanorover_det_fp32.onnx'), engine])
    b = create_backend(engine)
    out = b.run(np.zeros([d or 1 for d in b.input_shape], np.float32))
    assert out[0].shape[1] == 9


def test_engine_files_select_the_tensorrt_backend_and_fail_clearly_without_it(tmp_path):
    engine = tmp_path / 'x.engine'
    engine.write_bytes(b'\0' * 16)
    if tensorrt_available():
        pytest.skip('tensorrt present: covered by the test above')
    with pytest.raises(ModelError, match='TensorRT backend needs the tensorrt and pycuda'):
        create_backend(str(engine))


def test_opencv_dnn_backend_needs_its_text_graph(tmp_path):
    pb = tmp_path / 'frozen_inference_graph.pb'
    pb.write_bytes(b'garbage')
    with pytest.raises(ModelError, match=r'needs its text graph \(.pbtxt\)'):
        create_backend(str(pb))
    (tmp_path / 'graph.pbtxt').write_text('garbage {')
    with pytest.raises(ModelError, match='OpenCV DNN cannot read'):
        create_backend(str(pb))


def test_unknown_extension_is_a_clear_error(tmp_path):
    f = tmp_path / 'model.tflite'
    f.write_bytes(b'x')
    with pytest.raises(ModelError, match='cannot tell the backend'):
        create_backend(str(f))
