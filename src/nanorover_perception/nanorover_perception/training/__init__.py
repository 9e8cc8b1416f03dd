"""Dev-only detector tooling (training, export, quantization, evaluation): Python 3.11, torch."""
