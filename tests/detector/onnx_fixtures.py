"""Tiny ONNX graphs that return KNOWN tensors (Constant + 0 * mean(input)), one per layout."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def const_model(path, outputs, input_shape=(1, 3, 320, 320), input_dtype=np.float32,
                input_name='images', opset=13):
    """Write an ONNX model whose outputs are the given arrays (name -> array), whatever the input.

    The input still flows into every output (times zero) so that runtimes cannot prune it.
    """
    elem = TensorProto.UINT8 if input_dtype == np.uint8 else TensorProto.FLOAT
    nodes = [helper.make_node('Cast', [input_name], ['x_f'], to=TensorProto.FLOAT),
             helper.make_node('ReduceMean', ['x_f'], ['x_mean'], keepdims=0),
             helper.make_node('Constant', [], ['zero'],
                              value=numpy_helper.from_array(np.array(0.0, np.float32), 'zero_v')),
             helper.make_node('Mul', ['x_mean', 'zero'], ['x_zero'])]
    graph_outputs = []
    for i, (name, arr) in enumerate(outputs.items()):
        arr = np.asarray(arr, np.float32)
        nodes.append(helper.make_node('Constant', [], ['c%d' % i],
                                      value=numpy_helper.from_array(arr, 'v%d' % i)))
        nodes.append(helper.make_node('Add', ['c%d' % i, 'x_zero'], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, arr.shape))
    graph = helper.make_graph(nodes, 'known_outputs',
                              [helper.make_tensor_value_info(input_name, elem, input_shape)],
                              graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)
