"""After ONNX Runtime's dynamic int8 quantization: do the int8 graph's outputs still follow the fp32 graph's?

On CPUs without VNNI, int8 products add u8 x s8 pairs into 16 bits, and a model whose activations are large
(all-mpnet-base-v2 is one) can saturate them: the int8 graph then answers nonsense without any error. `powerbert
export` runs both graphs on a few fixed English sentences, records how closely they agree in export_config.json, and
warns when they do not.
"""

from pathlib import Path

import numpy as np

SAMPLE_TEXTS = (
    "The cat sat on the mat.",
    "A man is playing a guitar on the street corner while people walk past.",
    "Stocks fell sharply on Tuesday after the central bank raised interest rates again.",
    "I loved this film; the acting was superb and the ending surprised me.",
    "The service was slow, the food was cold, and nobody apologised.",
    "How do I reset my password if I no longer have access to my email account?",
    "Two dogs are running through a field of tall grass.",
    "The committee will publish its final report on the proposed merger next spring.",
    "She said the results were not what anyone had expected.",
    "Water boils at a lower temperature at high altitude because the air pressure is lower.",
    "He declined to comment.",
    "The new phone has a larger screen, a faster processor and a battery that lasts two days.",
    "A woman is slicing an onion.",
    "After years of decline, the small town's population has begun to grow again, driven by remote workers "
    "who moved away from the expensive cities.",
    "This is the worst purchase I have ever made.",
    "The quick brown fox jumps over the lazy dog.",
)
MIN_EMBEDDING_COSINE = 0.95  # mean over the sample texts; MiniLM's int8 on AVX2 keeps about 0.99
MIN_SAME_PREDICTION = 0.875  # classifiers: 14 of 16 texts get the fp32 graph's class
MAX_LOGIT_ERROR = 0.5  # classifiers: |logits_int8 - logits_fp32| / |logits_fp32| over the sample texts


def _outputs(graph: Path, feeds: list[dict[str, np.ndarray]], embedding: bool) -> np.ndarray:
    """One row per text: its logits, or its embedding (the kept vectors averaged by their pooling weights)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(graph), sess_options=options, providers=["CPUExecutionProvider"])
    rows = []
    for feed in feeds:
        outputs = session.run(None, feed)
        if embedding:
            vectors, weights = outputs[0][0], outputs[1][0][:, None]
            rows.append((vectors * weights).sum(0) / max(float(weights.sum()), 1e-9))
        else:
            rows.append(outputs[0][0])
    return np.stack(rows).astype(np.float64)


def sample_feeds(tokenizer, input_names: list[str], max_length: int) -> list[dict[str, np.ndarray]]:
    """SAMPLE_TEXTS tokenized one at a time, as the graphs' inputs."""
    feeds = []
    for text in SAMPLE_TEXTS:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="np")
        feed = {name: encoded[name].astype(np.int64) for name in input_names if name in encoded}
        if "token_type_ids" in input_names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        feeds.append(feed)
    return feeds


def int8_agreement(fp32_graph: Path, int8_graph: Path, feeds: list[dict[str, np.ndarray]], embedding: bool) -> dict:
    """How closely the int8 graph follows the fp32 graph on `feeds` (sample_feeds), and whether that is close
    enough ("agrees"). Embeddings: the mean and least cosine; classifiers: the share of texts given the same
    class, and the relative error of the logits."""
    reference, quantized = _outputs(fp32_graph, feeds, embedding), _outputs(int8_graph, feeds, embedding)
    if embedding:
        norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(quantized, axis=1)
        cosine = (reference * quantized).sum(1) / np.maximum(norms, 1e-12)
        mean = float(cosine.mean())
        return {"texts": len(feeds), "mean_cosine": round(mean, 4), "least_cosine": round(float(cosine.min()), 4),
                "agrees": mean >= MIN_EMBEDDING_COSINE}
    same = float((reference.argmax(1) == quantized.argmax(1)).mean())
    error = float(np.linalg.norm(quantized - reference) / max(np.linalg.norm(reference), 1e-12))
    return {"texts": len(feeds), "same_prediction": round(same, 4), "logit_error": round(error, 4),
            "agrees": same >= MIN_SAME_PREDICTION and error <= MAX_LOGIT_ERROR}


def disagreement_message(check: dict, quantize: str) -> str:
    """The warning for an int8 graph that does not follow its fp32 graph, and what to do about it."""
    measured = (f"mean cosine {check['mean_cosine']:.3f} to the fp32 embeddings" if "mean_cosine" in check else
                f"the fp32 graph's class on {check['same_prediction']:.0%} of them, logit error "
                f"{check['logit_error']:.2f}")
    remedy = ("export without --quantize (fp32), or check the quality on your own data" if quantize == "int8-w7"
              else "try --quantize int8-w7 (7-bit weights, for CPUs without VNNI) or fp32")
    return (f"the int8 graph does not follow the fp32 graph on {check['texts']} sample texts ({measured}); "
            f"{remedy}")
