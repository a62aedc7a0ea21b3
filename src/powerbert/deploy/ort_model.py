"""An exported folder served by ONNX Runtime, with the call shape of optimum's ORTModelForSequenceClassification.

optimum-onnx pins transformers 4.x, below this project's 5.x, so this small class stands in: load with
`from_pretrained(folder)`, call with the tokenizer's tensors, get a `SequenceClassifierOutput`; it runs in
`transformers.pipeline("text-classification", model=..., tokenizer=...)`.
"""

import os
from pathlib import Path

import numpy as np
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from ..algorithm.retention import CONFIG_NAME, PowerConfig
from ..errors import PowerBertError
from ..modeling import check_and_trim, load_config
from .onnx_export import read_export_config


class ORTModelForSequenceClassification:
    """A PoWER (or plain) classifier exported by `powerbert export`, run by an ONNX Runtime session on the CPU."""

    main_input_name = "input_ids"

    def __init__(self, session, config, export_config: dict, power_config: PowerConfig | None = None) -> None:
        self.session, self.config, self.export_config = session, config, export_config
        self.power_config = power_config
        self.input_names = [i.name for i in session.get_inputs()]
        self.max_length = int(export_config["max_length"])

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, file_name: str | None = None,
                        session_options=None, provider: str = "CPUExecutionProvider"
                        ) -> "ORTModelForSequenceClassification":
        """Open an export folder; file_name picks another .onnx file in it (default: the one it was exported as)."""
        import onnxruntime as ort

        export_config = read_export_config(model_dir)
        path = Path(model_dir) / (file_name or export_config["file_name"])
        if not path.is_file():
            raise PowerBertError(f"{path} is missing: the export folder is incomplete; export it again")
        is_power = (Path(model_dir) / CONFIG_NAME).is_file()
        power_config = PowerConfig.from_pretrained(model_dir) if is_power else None
        config = load_config(model_dir)
        try:
            session = ort.InferenceSession(str(path), sess_options=session_options, providers=[provider])
        except Exception as err:  # onnxruntime raises its own types for unreadable or invalid graphs
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise PowerBertError(f"{path} cannot be loaded by ONNX Runtime (corrupt or not an ONNX graph): {first}") from None
        return cls(session, config, export_config, power_config)

    # --- what transformers' pipeline reads from a model ----------------------------------------------
    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def to(self, device) -> "ORTModelForSequenceClassification":
        if torch.device(device).type != "cpu":
            raise PowerBertError("this ONNX Runtime model runs on the CPU only")
        return self

    def eval(self) -> "ORTModelForSequenceClassification":
        return self

    def can_generate(self) -> bool:
        return False

    # --- inference --------------------------------------------------------------------------------------
    def forward(self, input_ids, attention_mask=None, token_type_ids=None, **_unused) -> SequenceClassifierOutput:
        """Logits for a right-padded batch; all-padding columns are dropped first, as PowerModel does."""
        feed = prepare_inputs(input_ids, attention_mask, token_type_ids, self.input_names, self.max_length)
        (logits,) = self.session.run(["logits"], feed)
        return SequenceClassifierOutput(logits=torch.from_numpy(logits))

    __call__ = forward


def prepare_inputs(input_ids, attention_mask, token_type_ids, input_names: list[str], max_length: int
                   ) -> dict[str, np.ndarray]:
    """int64 arrays for the graph's inputs: checked (right padding, length limit) and trimmed to the longest input."""
    ids = _as_tensor(input_ids)
    if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise PowerBertError(f"input_ids must be a non-empty (batch, length) array, got shape {tuple(ids.shape)}")
    mask = torch.ones_like(ids) if attention_mask is None else _as_tensor(attention_mask)
    types = torch.zeros_like(ids) if token_type_ids is None else _as_tensor(token_type_ids)
    ids, mask, types = check_and_trim(ids, mask, types, max_length)
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: np.ascontiguousarray(arrays[name].numpy()) for name in input_names}


def _as_tensor(values) -> torch.Tensor:
    """Token ids or a mask (tensor, array or lists) as an int64 CPU tensor."""
    return torch.as_tensor(values, dtype=torch.int64).cpu()
