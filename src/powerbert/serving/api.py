"""The HTTP API of text-embeddings-inference's sequence classification, as pure functions: a request body in,
the sequences to classify out; logits in, the answer's JSON out. The server (server.py) wires them to Ray Serve.

Requests: `{"inputs": ..., "raw_scores": bool, "truncate": bool}` (TEI) or `{"inputs": ..., "parameters":
{"top_k": k, "function_to_apply": "softmax" | "sigmoid" | "none", "truncate": bool}}` (huggingface_hub's
InferenceClient). `inputs` is a text, a pair [a, b], or a batch of texts or pairs. As in TEI, a list of two texts is a pair; a
batch of two single texts is written [[a], [b]].
"""

import json
from dataclasses import dataclass

import numpy as np

FUNCTIONS = ("softmax", "sigmoid", "none")


class ApiError(Exception):
    """A request the server refuses: HTTP status, one line, and TEI's error type."""

    def __init__(self, status: int, message: str, error_type: str = "validation") -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type

    def body(self) -> dict:
        return {"error": self.message, "error_type": self.error_type}


@dataclass
class Request:
    """What to classify and how to answer."""

    sequences: list[tuple[str, ...]]  # each a text or a pair
    single: bool  # one sequence, not a batch: answered as a list of labels, not a list of lists
    truncate: bool
    function: str
    top_k: int | None


def _sequence(value, where: str) -> tuple[str, ...] | None:
    """A text or a pair of texts, or None if `value` is neither."""
    if isinstance(value, str):
        texts = (value,)
    elif isinstance(value, list) and len(value) in (1, 2) and all(isinstance(v, str) for v in value):
        texts = tuple(value)
    else:
        return None
    if any(not t.strip() for t in texts):
        raise ApiError(422, f"{where} is an empty text")
    return texts


def parse_request(body: bytes, max_inputs: int) -> Request:
    """Check and read a request body; ApiError (4xx, one line) for anything malformed."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ApiError(422, f"the body is not valid JSON: {err.msg if hasattr(err, 'msg') else err}") from None
    if not isinstance(data, dict) or "inputs" not in data:
        raise ApiError(422, 'the body must be a JSON object with "inputs"')
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ApiError(422, '"parameters" must be an object')
    inputs = data["inputs"]
    single = _sequence(inputs, "inputs")
    if single is not None:
        sequences = [single]
    elif isinstance(inputs, list) and inputs:
        sequences = []
        for i, item in enumerate(inputs):
            sequence = _sequence(item, f"inputs[{i}]")
            if sequence is None:
                raise ApiError(422, f"inputs[{i}] must be a text or a pair of texts")
            sequences.append(sequence)
    elif isinstance(inputs, list):
        raise ApiError(422, "inputs is empty")
    else:
        raise ApiError(422, "inputs must be a text, a pair of texts, or a list of them")
    if len(sequences) > max_inputs:
        raise ApiError(413, f"{len(sequences)} inputs in one request; at most {max_inputs}")
    raw_scores = data.get("raw_scores", False)
    function = parameters.get("function_to_apply", "none" if raw_scores else "softmax")
    if function not in FUNCTIONS:
        raise ApiError(422, f"function_to_apply {function!r} is not one of {', '.join(FUNCTIONS)}")
    top_k = parameters.get("top_k")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
        raise ApiError(422, "top_k must be a positive integer")
    truncate = data.get("truncate", parameters.get("truncate", False))
    if not isinstance(truncate, bool) or not isinstance(raw_scores, bool):
        raise ApiError(422, "truncate and raw_scores must be true or false")
    return Request(sequences, single is not None, truncate, function, top_k)


def scores(logits: np.ndarray, function: str) -> np.ndarray:
    """Logits (batch, labels) turned into what the answer reports."""
    logits = np.asarray(logits, dtype=np.float64)
    if function == "softmax":
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if function == "sigmoid":
        return 1 / (1 + np.exp(-logits))
    return logits


def answer(request: Request, logits: np.ndarray, id2label: dict[int, str]) -> list:
    """Labels sorted by score for each sequence (a list for one sequence, a list of lists for a batch)."""
    rows = []
    for row in scores(logits, request.function):
        ranked = sorted(({"label": id2label[i], "score": float(s)} for i, s in enumerate(row)),
                        key=lambda item: -item["score"])
        rows.append(ranked[: request.top_k] if request.top_k else ranked)
    return rows[0] if request.single else rows
