"""int8 on the PyTorch path: dynamic quantization of every nn.Linear (int8 weights, activations per batch).

torchao is PyTorch's maintained quantization library, but its int8 kernels serve this CPU build only under
torch.compile: in eager mode its Int8DynamicActivationInt8WeightConfig ran MiniLM 17-38x slower than
torch.ao's dynamic quantization here (docs/benchmark.md). So this wraps `torch.ao.quantization.quantize_dynamic`
(fbgemm / oneDNN int8 kernels), whose deprecation warning it silences, behind one function that can switch
backends when torchao's eager CPU path catches up.
"""

import warnings

import torch
from torch import nn


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
