#!/usr/bin/env bash
# Build a TensorRT engine for the nanorover detector ON THE TARGET (engines are GPU/TensorRT
# version specific; never copy one between machines). Not run on the dev/CI machines (no GPU).
#
# Jetson Nano (JetPack 4.6, TensorRT 8.2, Maxwell: no INT8) -> FP16 from the FP32 ONNX:
#   src/nanorover_perception/scripts/build_trt_engine.sh
#   src/nanorover_perception/scripts/build_trt_engine.sh models/nanorover_det_fp32.onnx \
#       models/nanorover_det_fp16.engine
# Then run the node with:  -p model_path:=nanorover_det_fp16.engine   (TensorRT backend; needs the
#   tensorrt + pycuda Python modules, both part of JetPack / `pip install pycuda`).
# Alternative without an engine file: ONNX Runtime GPU (Jetson Zoo wheel) with
#   -p providers:="[tensorrt, cuda, cpu]" -p model_path:=nanorover_det_fp32.onnx
#   (the node enables trt_fp16_enable for the TensorRT execution provider).
#
# Jetson Orin (TensorRT >= 8.5, INT8 capable): TensorRT wants SYMMETRIC (S8S8) QDQ, not the U8S8
# model shipped for CPU. Build one with the training tooling on the dev machine:
#   python -c "from nanorover_perception.training import export as X; ..."  (quantize_static with
#   activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
#   extra_options={'ActivationSymmetric': True, 'WeightSymmetric': True}, head excluded)
# and build it here with MODE=int8:  MODE=int8 build_trt_engine.sh models/nanorover_det_s8s8.onnx out.engine
# (explicit-quantization QDQ models need --int8 and keep the excluded head in FP16 with --fp16).
set -euo pipefail

ONNX="${1:-models/nanorover_det_fp32.onnx}"
ENGINE="${2:-${ONNX%.onnx}_fp16.engine}"
MODE="${MODE:-fp16}"             # fp16 (Nano, Xavier, Orin) | int8 (Orin with an S8S8 QDQ model)
WORKSPACE_MB="${WORKSPACE_MB:-256}"

TRTEXEC="${TRTEXEC:-}"
if [ -z "$TRTEXEC" ]; then
  if command -v trtexec >/dev/null 2>&1; then
    TRTEXEC="$(command -v trtexec)"
  elif [ -x /usr/src/tensorrt/bin/trtexec ]; then
    TRTEXEC=/usr/src/tensorrt/bin/trtexec     # JetPack location
  else
    echo "trtexec not found (JetPack: /usr/src/tensorrt/bin/trtexec); set TRTEXEC=..." >&2
    exit 2
  fi
fi
if [ ! -f "$ONNX" ]; then
  echo "ONNX model $ONNX not found" >&2
  exit 2
fi

flags=(--onnx="$ONNX" --saveEngine="$ENGINE" --fp16)
case "$MODE" in
  fp16) ;;
  int8) flags+=(--int8) ;;
  *) echo "MODE must be fp16 or int8, got $MODE" >&2; exit 2 ;;
esac

# TensorRT 8.2 (JetPack 4.6) spells the workspace option --workspace=MB; >= 8.4 uses
# --memPoolSize=workspace:MB
if "$TRTEXEC" --help 2>&1 | grep -q -- '--memPoolSize'; then
  flags+=(--memPoolSize="workspace:${WORKSPACE_MB}")
else
  flags+=(--workspace="$WORKSPACE_MB")
fi

echo "building $ENGINE from $ONNX ($MODE) with $TRTEXEC"
"$TRTEXEC" "${flags[@]}"
echo "done: $ENGINE  (run: ros2 run nanorover_perception detector_node --ros-args -p model_path:=$ENGINE)"
