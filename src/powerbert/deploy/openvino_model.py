"""An exported folder served by OpenVINO, with the call shape of optimum-intel's OVModelForSequenceClassification.

bf16 is OpenVINO's run-time precision hint (INFERENCE_PRECISION_HINT), not a separate file: the same IR runs
in fp32 or bf16. On a CPU without bf16 units (AVX-512 BF16 or AMX) OpenVINO ignores the hint and runs fp32;
`inference_precision` says what it actually runs.
"""

import os
import queue

import numpy as np

from ..errors import PowerBertError, first_line
from ..pipeline_support import register_for_pipelines
from .exported_model import ExportedModelForSequenceClassification, threads_from_environment

HINTS = {"fp32": "f32", "bf16": "bf16"}


@register_for_pipelines
class OVModelForSequenceClassification(ExportedModelForSequenceClassification):
    """A PoWER (or plain) classifier exported by `powerbert export --runtime openvino`, compiled for the CPU."""

    runtime = "openvino"

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, dtype: str = "fp32", file_name: str | None = None,
                        ov_config: dict | None = None, threads: int | None = None) -> "OVModelForSequenceClassification":
        """Open an export folder and compile its IR for the CPU with latency-oriented settings.

        dtype: "fp32" or "bf16" (inference precision hint); ov_config: further OpenVINO properties, which win.
        threads: compute threads (default: $OMP_NUM_THREADS where set, as PyTorch's, else OpenVINO's choice).
        """
        import openvino as ov

        if dtype not in HINTS:
            raise PowerBertError(f"--dtype {dtype!r} is not supported by OpenVINO here; choose fp32 or bf16")
        model = cls(model_dir)
        path = model.graph_path(model_dir, file_name)
        if not path.with_suffix(".bin").is_file():
            raise PowerBertError(f"{path.with_suffix('.bin')} is missing: the export folder is incomplete; export it again")
        properties = {"INFERENCE_PRECISION_HINT": HINTS[dtype], "PERFORMANCE_HINT": "LATENCY"}
        threads = threads or threads_from_environment()
        if threads:
            properties["INFERENCE_NUM_THREADS"] = threads
        properties.update(ov_config or {})
        try:
            model.compiled = ov.Core().compile_model(str(path), "CPU", properties)
        except Exception as err:  # OpenVINO raises RuntimeError with a multi-line trace for bad IR files
            raise PowerBertError(f"{path} cannot be loaded by OpenVINO (corrupt or not an IR file): "
                                 f"{first_line(err)}") from None
        model.requests = queue.SimpleQueue()  # idle infer requests: one per concurrent caller, made on demand
        hint = model.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        model.inference_precision = {"f32": "fp32"}.get(hint, hint)  # a bf16 hint may run as fp32
        return model

    def run_all(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Safe from many threads at once: an infer request serves one call at a time, so each call takes an
        idle one from the pool (or makes one) and gives it back."""
        try:
            request = self.requests.get_nowait()
        except queue.Empty:
            request = self.compiled.create_infer_request()
        try:
            outputs = request.infer(feed)  # copies (share_outputs=False): the request may serve the next call
            return [outputs[i] for i in range(len(self.compiled.outputs))]
        finally:
            self.requests.put(request)
