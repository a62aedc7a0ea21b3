"""Tiny random models of every supported architecture, and a GLUE folder written by the tests."""

import gc
import os
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

if os.environ.get("PYTEST_XDIST_WORKER"):  # one worker per core: no worker spreads its work over both
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # subprocesses (bench variants, torchrun) inherit it
# OpenVINO's converter and NNCF send usage telemetry unless told not to, forking the (large) test process once per
# event (about 40 per conversion); both skip it in CI, and a test run is one
os.environ.setdefault("CI", "true")

ARCHITECTURES = ["bert", "roberta", "albert", "distilbert", "electra", "mpnet", "deberta-v2", "modernbert"]
NUM_LAYERS = 3
# what makes each tiny model exercise its architecture's position terms at short lengths
EXTRA_CONFIG = {
    # DeBERTa-v3's settings: relative positions in log buckets, both disentangled terms, shared keys
    "deberta-v2": dict(relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=8,
                       max_relative_positions=64, position_biased_input=False, norm_rel_ebd="layer_norm",
                       share_att_key=True, type_vocab_size=0),
    # a local window of 4 (2 each side) in layers 2 and 3
    "modernbert": dict(local_attention=4, global_attn_every_n_layers=3, bos_token_id=1, eos_token_id=2,
                       cls_token_id=1, sep_token_id=2),
}


def tiny_classifier(model_type: str, num_labels: int = 2, seed: int = 0, **overrides):
    """A 3-layer, 32-wide random classifier of the given architecture, in eval mode (`overrides`: config values)."""
    torch.manual_seed(seed)
    config = AutoConfig.for_model(
        model_type, vocab_size=120, hidden_size=32, num_hidden_layers=NUM_LAYERS, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=66, num_labels=num_labels, embedding_size=16,
        dim=32, n_layers=NUM_LAYERS, n_heads=4, hidden_dim=64, pad_token_id=0, **{**EXTRA_CONFIG.get(model_type, {}), **overrides},
    )
    return AutoModelForSequenceClassification.from_config(config).eval()


def padded_batch(lengths: list[int], width: int | None = None, seed: int = 0):
    """Random token ids (>= 3, so no pad id) right-padded to `width`, with their 0/1 attention mask."""
    generator = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    ids = torch.randint(3, 120, (len(lengths), width), generator=generator)
    mask = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    return ids * mask, mask


# the files with the longest module fixtures, longest first: pytest-xdist (--dist loadfile) hands files to workers
# in collection order, so starting these first keeps one of them from running alone at the end
SLOWEST_FIRST = ["test_end_to_end.py", "test_export_architectures.py", "test_deploy.py", "test_serving.py",
                 "test_distributed.py", "test_bench.py", "test_sweep.py", "test_embedding.py"]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept


def pytest_collection_finish(session):
    """Leave the objects of everything imported so far (torch, transformers, ...) out of Python's cyclic garbage
    collection: the exporter's traces allocate heavily, and each full collection would walk them all again."""
    gc.collect()
    gc.freeze()


TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "fine", "film", "dull", "and"]
TINY_LABELS = {0: "dull", 1: "fine"}


@pytest.fixture(scope="session")
def shared_bert_export(tmp_path_factory) -> Path:
    """A tiny PoWER BERT ([6, 3, 2], a real tokenizer, labels by name) in `power/` and its fp32 ONNX export in
    `onnx/`: traced once per test run, whichever worker asks first; read it, or copy it to change it."""
    from filelock import FileLock
    from transformers import BertTokenizerFast

    from powerbert import PowerConfig, get_power_model
    from powerbert.deploy import export

    base = tmp_path_factory.getbasetemp()
    base = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' common folder
    root = base / "shared-bert-export"
    with FileLock(str(root) + ".lock"):
        if not (root / "onnx" / "export_config.json").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            (root / "vocab.txt").write_text("\n".join(TINY_VOCAB))
            model = tiny_classifier("bert")
            model.config.id2label, model.config.label2id = TINY_LABELS, {v: k for k, v in TINY_LABELS.items()}
            power = get_power_model(model, PowerConfig([6, 3, 2]))
            power.save_pretrained(root / "power", BertTokenizerFast(vocab_file=str(root / "vocab.txt")))
            export(root / "power", root / "onnx")
    return root


@pytest.fixture(params=ARCHITECTURES)
def model_type(request) -> str:
    return request.param
