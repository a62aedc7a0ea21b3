"""What the runtime classes for exported folders share: the call shape of optimum's model classes and input checks
(`loader.load_exported` picks the runtime class for a folder).

optimum-onnx and optimum-intel pin transformers below this project's 5.x, so small classes stand in: load
with `from_pretrained(folder)`, call with the tokenizer's tensors, get a `SequenceClassifierOutput`; they run
in `transformers.pipeline("text-classification", model=..., tokenizer=...)`.
"""

import os
from pathlib import Path

import numpy as np
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from ..algorithm.retention import CONFIG_NAME, PowerConfig
from ..errors import PowerBertError
from ..modeling import check_and_trim, load_config
from .exporter import read_export_config


def threads_from_environment() -> int | None:
    """$OMP_NUM_THREADS where it is a positive number, else None: the thread count PyTorch takes from the
    environment, so that the runtimes of an export follow the same setting (a container's CPU limit, a test worker)."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class ExportedModelForSequenceClassification:
    """A PoWER (or plain) classifier exported by `powerbert export`; subclasses run its graph on one runtime."""

    main_input_name = "input_ids"
    runtime = ""

    def __init__(self, model_dir: str | os.PathLike) -> None:
        self.export_config = read_export_config(model_dir)
        if self.export_config.get("runtime") != self.runtime:
            raise PowerBertError(f"{model_dir} was exported for {self.export_config.get('runtime')}, not "
                                 f"{self.runtime}; load it with powerbert.deploy.load_exported")
        self.power_config = PowerConfig.from_pretrained(model_dir) if (Path(model_dir) / CONFIG_NAME).is_file() else None
        self.config = load_config(model_dir)
        self.max_length = int(self.export_config["max_length"])
        self.input_names = list(self.export_config["inputs"])

    def graph_path(self, model_dir: str | os.PathLike, file_name: str | None) -> Path:
        """The graph file to open (default: the one exported), with one line if the folder lacks it."""
        path = Path(model_dir) / (file_name or self.export_config["file_name"])
        if not path.is_file():
            raise PowerBertError(f"{path} is missing: the export folder is incomplete; export it again")
        return path

    # --- what transformers' pipeline reads from a model ----------------------------------------------
    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def to(self, device) -> "ExportedModelForSequenceClassification":
        if torch.device(device).type != "cpu":
            raise PowerBertError(f"this {self.runtime} model runs on the CPU only")
        return self

    def eval(self) -> "ExportedModelForSequenceClassification":
        return self

    def can_generate(self) -> bool:
        return False

    # --- inference --------------------------------------------------------------------------------------
    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Logits of the graph (its first output) for checked int64 inputs."""
        return self.run_all(feed)[0]

    def run_all(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Every output of the graph, in order, for checked int64 inputs; each runtime implements it."""
        raise NotImplementedError

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, **_unused) -> SequenceClassifierOutput:
        """Logits for a right-padded batch; all-padding columns are dropped first, as PowerModel does."""
        feed = prepare_inputs(input_ids, attention_mask, token_type_ids, self.input_names, self.max_length,
                              self.config.vocab_size)
        return SequenceClassifierOutput(logits=torch.from_numpy(np.asarray(self.run(feed))))

    __call__ = forward


def prepare_inputs(input_ids, attention_mask, token_type_ids, input_names: list[str], max_length: int,
                   vocab_size: int | None = None) -> dict[str, np.ndarray]:
    """int64 arrays for the graph's inputs: checked (right padding, length limit, token ids in the vocabulary)
    and trimmed to the longest input."""
    ids = _as_tensor(input_ids)
    if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise PowerBertError(f"input_ids must be a non-empty (batch, length) array, got shape {tuple(ids.shape)}")
    mask = torch.ones_like(ids) if attention_mask is None else _as_tensor(attention_mask)
    types = torch.zeros_like(ids) if token_type_ids is None else _as_tensor(token_type_ids)
    ids, mask, types = check_and_trim(ids, mask, types, max_length, vocab_size)
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: np.ascontiguousarray(arrays[name].numpy()) for name in input_names}


def _as_tensor(values) -> torch.Tensor:
    """Token ids or a mask (tensor, array or lists) as an int64 CPU tensor."""
    return torch.as_tensor(values, dtype=torch.int64).cpu()
