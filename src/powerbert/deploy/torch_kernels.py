"""fp32 Linear layers on oneDNN's prepacked kernels instead of PyTorch's default BLAS, for CPU inference.

PyTorch's CPU build multiplies fp32 matrices with Intel MKL, which on AMD CPUs takes a slower code path: on
the Zen 5 machine of docs/benchmark.md a 384 -> 1536 product ran 2.3-3.2x slower than oneDNN's with the same
weights (4-1,600 rows; equal at 1 row). Inductor's freezing pass calls the same op for dynamic shapes; this
swap gets the kernels in eager mode, without compiling, for a plain model as much as for a PoWER one.
The weights stay as they were (state_dict, `save_pretrained` unchanged); a packed copy serves inference.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import PowerBertError


def onednn_linear_available() -> bool:
    """Whether this PyTorch build has oneDNN's prepacked linear ops (CPU builds with mkldnn do)."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")


class OneDNNLinear(nn.Module):
    """An inference copy of an fp32 CPU `nn.Linear` whose product runs on oneDNN with weights packed once.

    The weights are frozen at conversion: change them and the packed copy no longer matches. Inputs that need
    a gradient, and inputs the packed copy cannot take (another dtype or device, after `.to(...)`), take
    `F.linear` on the same weights, so the module still works as a plain linear layer there.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = nn.Parameter(linear.weight.detach(), requires_grad=False)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach(), requires_grad=False)
        self.packed_weight = torch.ops.mkldnn._reorder_linear_weight(self.weight, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32 or not x.is_cpu or (torch.is_grad_enabled() and x.requires_grad):
            return F.linear(x, self.weight, self.bias)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def use_onednn_linears(model: nn.Module) -> nn.Module:
    """Swap every fp32 CPU `nn.Linear` of `model` (a PowerModel or a plain classifier) for a `OneDNNLinear`, in
    place, as `quantize_int8` does; returns the model in eval mode. Inference only: train first, then swap."""
    if not onednn_linear_available():
        raise PowerBertError("this PyTorch build has no oneDNN (mkldnn) linear kernels; use the model as it is")
    model.eval()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear and child.weight.dtype == torch.float32 and child.weight.device.type == "cpu":
                setattr(module, name, OneDNNLinear(child))
    return model
