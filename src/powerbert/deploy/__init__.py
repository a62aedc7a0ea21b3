"""Deployment: bf16, int8 and oneDNN-kernel PyTorch models, export to ONNX Runtime and OpenVINO, and the classes that serve exports."""

from .loader import load_exported
from .exporter import export
from .openvino_model import OVModelForSequenceClassification
from .ort_model import ORTModelForSequenceClassification
from .torch_kernels import OneDNNLinear, use_onednn_linears
from .torch_precision import Bf16Autocast, quantize_int8, with_precision

__all__ = ["Bf16Autocast", "ORTModelForSequenceClassification", "OVModelForSequenceClassification", "OneDNNLinear",
           "export", "load_exported", "quantize_int8", "use_onednn_linears", "with_precision"]
