"""Precision on the PyTorch path: dynamic int8 Linear layers, or bf16 autocast.

int8: torchao is PyTorch's maintained quantization library, but its int8 kernels serve this CPU build only
under torch.compile: in eager mode its Int8DynamicActivationInt8WeightConfig ran MiniLM 17-38x slower than
torch.ao's dynamic quantization here (docs/benchmark.md). So `quantize_int8` wraps
`torch.ao.quantization.quantize_dynamic` (fbgemm / oneDNN int8 kernels), whose deprecation warning it
silences, behind one function that can switch backends when torchao's eager CPU path catches up.

bf16: `Bf16Autocast` runs the model under `torch.autocast`: matrix products in bf16, softmax, layer norms and
the significance scores' sums kept in fp32 by autocast's own rules. Fast only on CPUs with bf16 units
(AVX-512 BF16, AMX) and on GPUs; elsewhere PyTorch emulates it.
"""

import warnings

import torch
from torch import nn

from ..errors import PowerBertError

TORCH_PRECISIONS = ("fp32", "bf16", "int8")


def quantize_int8(model: nn.Module) -> nn.Module:
    """Replace every nn.Linear of `model` (a PowerModel or a plain classifier) by a dynamic int8 one, in place.

    In place matters for a PowerModel: its layer list points at the wrapped model's layers, whose Linear
    children are swapped where they are. Inference only (CPU); returns the model, in eval mode.
    """
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
    return model


class Bf16Autocast(nn.Module):
    """A model whose forward runs under bf16 autocast on its own device; every other attribute is the model's,
    so it serves in `transformers.pipeline` and wherever the model did."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        with torch.autocast(device_type=self.model.device.type, dtype=torch.bfloat16):
            return self.model(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("model"), name)


def with_precision(model: nn.Module, precision: str) -> nn.Module:
    """`model` (eval mode) at fp32, as bf16 autocast, or dynamically quantized to int8 (CPU)."""
    if precision not in TORCH_PRECISIONS:
        raise PowerBertError(f"precision {precision!r} is not one of {', '.join(TORCH_PRECISIONS)}")
    model.eval()
    if precision == "int8":
        return quantize_int8(model)
    return Bf16Autocast(model) if precision == "bf16" else model
