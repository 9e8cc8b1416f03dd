"""Inference backends behind one small interface (ROS-free, Python 3.6).

* ``OnnxRuntimeBackend`` -- ONNX Runtime with an execution-provider priority list
  (TensorRT -> CUDA -> CPU); providers that are not available fall back with a log line.
* ``TensorRTBackend``    -- a serialized TensorRT engine (``.engine`` / ``.plan``) when
  ``import tensorrt`` works (Jetson); buffers via pycuda.
* ``OpenCVDnnBackend``   -- OpenCV DNN for TensorFlow frozen graphs (``.pb`` + ``.pbtxt``).

Every backend exposes ``input_name``, ``input_shape`` (ints, ``None`` for a dynamic dim),
``input_dtype`` (``'float32'`` or ``'uint8'``), ``output_names``, ``description`` and
``run(blob) -> list of numpy arrays``. Load problems raise ``ModelError`` with the reason.
"""
import glob
import importlib
import os

import numpy as np

#: short names accepted in the ``providers`` parameter -> ONNX Runtime provider names
PROVIDER_ALIASES = {
    'tensorrt': 'TensorrtExecutionProvider',
    'cuda': 'CUDAExecutionProvider',
    'cpu': 'CPUExecutionProvider',
    'openvino': 'OpenVINOExecutionProvider',
}
DEFAULT_PROVIDERS = ('tensorrt', 'cuda', 'cpu')
BACKENDS = ('auto', 'onnxruntime', 'tensorrt', 'opencv')


class ModelError(RuntimeError):
    """The model cannot be used; the message says why and what to change."""


def _log(logger, level, msg):
    if logger is not None:
        getattr(logger, level)(msg)


def _dim(d):
    return int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else None


def backend_for_path(path):
    ext = os.path.splitext(path)[1].lower()
    if ext == '.onnx':
        return 'onnxruntime'
    if ext in ('.engine', '.plan', '.trt'):
        return 'tensorrt'
    if ext == '.pb':
        return 'opencv'
    raise ModelError('cannot tell the backend from the file name %s (expected .onnx, .engine/.plan '
                     'or .pb); set the backend parameter' % path)


class OnnxRuntimeBackend(object):
    def __init__(self, path, providers=DEFAULT_PROVIDERS, threads=0, logger=None, cache_dir=''):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError('onnxruntime is not installed (%s)' % exc)
        available = ort.get_available_providers()
        wanted = []
        for p in providers:
            full = PROVIDER_ALIASES.get(p.lower(), p)
            if full not in available:
                _log(logger, 'warning', 'execution provider %s is not available in this '
                     'onnxruntime (%s); falling back to the next one' % (
                         full, ', '.join(available)))
                continue
            wanted.append(full)
        if 'CPUExecutionProvider' not in wanted:
            wanted.append('CPUExecutionProvider')
        opts = ort.SessionOptions()
        if threads > 0:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        provider_options = []
        for p in wanted:
            if p == 'TensorrtExecutionProvider':
                o = {'trt_fp16_enable': 'True'}
                if cache_dir:
                    o.update({'trt_engine_cache_enable': 'True',
                              'trt_engine_cache_path': cache_dir})
                provider_options.append(o)
            else:
                provider_options.append({})
        session = None
        while wanted:
            try:
                session = ort.InferenceSession(path, sess_options=opts, providers=wanted,
                                               provider_options=provider_options)
                break
            except Exception as exc:  # ORT raises its own Fail / InvalidProtobuf / ... types
                if len(wanted) > 1 and wanted[0] != 'CPUExecutionProvider' and \
                        os.path.isfile(path) and 'rotobuf' not in str(exc):
                    _log(logger, 'warning', 'execution provider %s failed (%s); falling back to %s'
                         % (wanted[0], str(exc).splitlines()[0] if str(exc) else exc, wanted[1]))
                    wanted.pop(0)
                    provider_options.pop(0)
                    continue
                raise ModelError('onnxruntime cannot load %s: %s' % (path, str(exc).strip()))
        self.session = session
        inp = session.get_inputs()
        if len(inp) != 1:
            raise ModelError('%s has %d inputs (%s); an image detector has exactly one' % (
                path, len(inp), ', '.join(i.name for i in inp)))
        self.input_name = inp[0].name
        self.input_shape = [_dim(d) for d in inp[0].shape]
        self.input_dtype = 'uint8' if 'uint8' in inp[0].type else 'float32'
        self.output_names = [o.name for o in session.get_outputs()]
        self.providers = session.get_providers()
        self.description = 'onnxruntime %s [%s]' % (ort.__version__, ', '.join(self.providers))

    def run(self, blob):
        return self.session.run(None, {self.input_name: blob})


class OpenCVDnnBackend(object):
    """TensorFlow frozen graph (+ text graph) through cv2.dnn; output [1, 1, N, 7]."""

    def __init__(self, path, config_path='', logger=None):
        import cv2
        if not config_path:
            candidates = sorted(glob.glob(os.path.join(os.path.dirname(path), '*.pbtxt')))
            if len(candidates) != 1:
                raise ModelError('%s needs its text graph (.pbtxt): set config_path (found %d '
                                 'candidates next to it)' % (path, len(candidates)))
            config_path = candidates[0]
        if not os.path.isfile(config_path):
            raise ModelError('text graph %s does not exist' % config_path)
        try:
            self.net = cv2.dnn.readNetFromTensorflow(path, config_path)
        except cv2.error as exc:
            raise ModelError('OpenCV DNN cannot read %s + %s: %s' % (
                path, config_path, str(exc).strip().splitlines()[-1]))
        self.input_name = 'image'
        self.input_shape = [1, 3, None, None]
        self.input_dtype = 'float32'
        self.output_names = ['detection_out']
        self.description = 'opencv dnn %s (%s)' % (cv2.__version__, os.path.basename(config_path))

    def run(self, blob):
        self.net.setInput(blob)
        return [self.net.forward()]


class TensorRTBackend(object):
    """A serialized TensorRT engine (TensorRT 8.x/10.x Python API + pycuda), batch 1.

    Built on the robot by scripts/build_trt_engine.sh; not testable without a GPU.
    """

    def __init__(self, path, logger=None):
        try:
            import tensorrt as trt
            import pycuda.autoinit  # noqa: F401  (creates the CUDA context)
            import pycuda.driver as cuda
        except ImportError as exc:
            raise ModelError('the TensorRT backend needs the tensorrt and pycuda modules (%s)'
                             % exc)
        self.trt, self.cuda = trt, cuda
        trt_logger = trt.Logger(trt.Logger.WARNING)
        with open(path, 'rb') as f, trt.Runtime(trt_logger) as runtime:
            self.engine = runtime.deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise ModelError('TensorRT could not deserialize %s (built for another TensorRT '
                             'version or GPU?)' % path)
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()
        self._new_api = hasattr(self.engine, 'num_io_tensors')
        names = self._io_names()
        inputs = [n for n in names if self._is_input(n)]
        if len(inputs) != 1:
            raise ModelError('%s has %d inputs; an image detector has exactly one' % (
                path, len(inputs)))
        self.input_name = inputs[0]
        self.output_names = [n for n in names if not self._is_input(n)]
        self.input_shape = [_dim(d) for d in self._shape(self.input_name)]
        self.input_dtype = 'uint8' if self._dtype(self.input_name) == np.uint8 else 'float32'
        self.host, self.device = {}, {}
        for n in names:
            shape = tuple(max(1, d) for d in self._shape(n))
            self.host[n] = cuda.pagelocked_empty(shape, self._dtype(n))
            self.device[n] = cuda.mem_alloc(self.host[n].nbytes)
        self.description = 'tensorrt %s engine' % trt.__version__

    def _io_names(self):
        if self._new_api:
            return [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        return [self.engine.get_binding_name(i) for i in range(self.engine.num_bindings)]

    def _is_input(self, name):
        if self._new_api:
            return self.engine.get_tensor_mode(name) == self.trt.TensorIOMode.INPUT
        return self.engine.binding_is_input(self.engine.get_binding_index(name))

    def _shape(self, name):
        if self._new_api:
            return tuple(self.engine.get_tensor_shape(name))
        return tuple(self.engine.get_binding_shape(self.engine.get_binding_index(name)))

    def _dtype(self, name):
        if self._new_api:
            return np.dtype(self.trt.nptype(self.engine.get_tensor_dtype(name)))
        return np.dtype(self.trt.nptype(self.engine.get_binding_dtype(
            self.engine.get_binding_index(name))))

    def run(self, blob):
        cuda = self.cuda
        np.copyto(self.host[self.input_name], blob.reshape(self.host[self.input_name].shape))
        cuda.memcpy_htod_async(self.device[self.input_name], self.host[self.input_name],
                               self.stream)
        if self._new_api:
            for n, mem in self.device.items():
                self.context.set_tensor_address(n, int(mem))
            self.context.execute_async_v3(self.stream.handle)
        else:
            bindings = [int(self.device[n]) for n in self._io_names()]
            self.context.execute_async_v2(bindings, self.stream.handle)
        for n in self.output_names:
            cuda.memcpy_dtoh_async(self.host[n], self.device[n], self.stream)
        self.stream.synchronize()
        return [self.host[n].copy() for n in self.output_names]


def tensorrt_available():
    try:
        importlib.import_module('tensorrt')
        return True
    except ImportError:
        return False


def create_backend(path, backend='auto', providers=DEFAULT_PROVIDERS, threads=0, config_path='',
                   logger=None):
    """Open ``path`` with the requested (or, for 'auto', the file type's) backend."""
    if not os.path.isfile(path):
        raise ModelError('model file %s does not exist' % path)
    if backend == 'auto':
        backend = backend_for_path(path)
    if backend == 'onnxruntime':
        return OnnxRuntimeBackend(path, providers=providers, threads=threads, logger=logger)
    if backend == 'tensorrt':
        return TensorRTBackend(path, logger=logger)
    if backend == 'opencv':
        return OpenCVDnnBackend(path, config_path=config_path, logger=logger)
    raise ModelError('unknown backend %r; one of %s' % (backend, ', '.join(BACKENDS)))
