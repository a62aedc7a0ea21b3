"""The sentence-transformers module of an exported PoWER embedding model: the graph on ONNX Runtime or OpenVINO.

`powerbert export` of an embedding folder writes this module first in the export's modules.json, then the
model's own Pooling and Normalize: `SentenceTransformer(export_folder, trust_remote_code=True).encode(texts)`
tokenizes, runs the graph (kept vectors and their pooling weights out) and pools in PyTorch. sentence-transformers'
own `backend="onnx"` / `"openvino"` loads plain transformers through optimum, which cannot run a PoWER graph;
this module is the PoWER counterpart.
"""

import json
from pathlib import Path

import torch
from sentence_transformers.base.modules import Module
from transformers import AutoTokenizer

from ..algorithm.retention import flop_fraction
from ..architectures.adapters import ffn_size
from ..embedding import tokenize_texts
from .exported_model import prepare_inputs
from .loader import load_exported


class ExportedPowerTransformer(Module):
    """Tokenizer and exported graph; hands Pooling the kept vectors with their pooling weights as attention mask."""

    save_in_root = True

    def __init__(self, model_dir: str, threads: int | None = None) -> None:
        super().__init__()
        self.model_dir = str(model_dir)
        self.exported = load_exported(model_dir, threads=threads)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        settings = Path(model_dir) / "sentence_bert_config.json"
        limit = json.loads(settings.read_text()).get("max_seq_length") if settings.is_file() else None
        self.max_seq_length = int(limit or self.exported.max_length)

    @property
    def retention(self) -> list | None:
        return None if self.exported.power_config is None else self.exported.power_config.retention

    def flop_fraction(self, lengths: list[int]) -> float:
        """Encoder FLOPs of the exported configuration over the plain model's on inputs of these lengths."""
        if self.exported.power_config is None:
            return 1.0
        config = self.exported.config
        return flop_fraction(lengths, config.hidden_size, ffn_size(config), self.exported.power_config)

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, torch.Tensor]:
        return tokenize_texts(self.tokenizer, inputs, prompt, self.max_seq_length)

    def forward(self, features: dict, **kwargs) -> dict:
        feed = prepare_inputs(features["input_ids"], features.get("attention_mask"), features.get("token_type_ids"),
                              self.exported.input_names, self.exported.max_length, self.exported.config.vocab_size)
        hidden, weights = self.exported.run_all(feed)[:2]
        features.update(token_embeddings=torch.from_numpy(hidden), attention_mask=torch.from_numpy(weights))
        return features

    def get_embedding_dimension(self) -> int:
        return self.exported.config.hidden_size

    def save(self, output_path: str, *args, **kwargs) -> None:
        raise NotImplementedError("an exported model is written by powerbert export; copy its folder instead")

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs) -> "ExportedPowerTransformer":
        return cls(str(Path(model_name_or_path) / subfolder))
