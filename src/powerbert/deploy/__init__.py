"""Deployment: int8 PyTorch models, ONNX export, and a runtime class that serves exported folders."""

from .onnx_export import export
from .ort_model import ORTModelForSequenceClassification
from .torch_int8 import quantize_int8

__all__ = ["ORTModelForSequenceClassification", "export", "quantize_int8"]
