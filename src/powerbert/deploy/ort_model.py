"""An exported folder served by ONNX Runtime, with the call shape of optimum's ORTModelForSequenceClassification."""

import os

import numpy as np

from ..errors import PowerBertError, first_line
from ..pipeline_support import register_for_pipelines
from .exported_model import ExportedModelForSequenceClassification, threads_from_environment


@register_for_pipelines
class ORTModelForSequenceClassification(ExportedModelForSequenceClassification):
    """A PoWER (or plain) classifier exported by `powerbert export`, run by an ONNX Runtime session on the CPU."""

    runtime = "onnxruntime"

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, file_name: str | None = None,
                        session_options=None, provider: str = "CPUExecutionProvider", threads: int | None = None
                        ) -> "ORTModelForSequenceClassification":
        """Open an export folder; file_name picks another .onnx file in it (default: the one it was exported as).
        threads: intra-op threads (default: $OMP_NUM_THREADS where set, as PyTorch's, else ONNX Runtime's choice);
        session_options, if given, are used as they are."""
        import onnxruntime as ort

        model = cls(model_dir)
        threads = threads or threads_from_environment()
        if session_options is None and threads:
            session_options = ort.SessionOptions()
            session_options.intra_op_num_threads = threads
        path = model.graph_path(model_dir, file_name)
        try:
            model.session = ort.InferenceSession(str(path), sess_options=session_options, providers=[provider])
        except Exception as err:  # onnxruntime raises its own types for unreadable or invalid graphs
            raise PowerBertError(f"{path} cannot be loaded by ONNX Runtime (corrupt or not an ONNX graph): "
                                 f"{first_line(err)}") from None
        return model

    def run_all(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feed)
