"""Let `transformers.pipeline("text-classification", model=...)` accept PoWER models without its "not supported"
log line, through the Auto classes' public `register()`.

The pipeline checks a model's class name against the text-classification models the Auto class knows. Each of
our model classes is registered under a model type of its own ("powerbert-..."), so no existing model type or
Hugging Face class changes; nothing is patched.
"""

from transformers import AutoModelForSequenceClassification, PretrainedConfig


def register_for_pipelines(model_class: type) -> type:
    """Register `model_class` as a text-classification model (a class decorator); returns it unchanged."""
    model_type = f"powerbert-{model_class.__name__.lower()}"
    marker = type(f"{model_class.__name__}Config", (PretrainedConfig,), {"model_type": model_type})
    AutoModelForSequenceClassification.register(marker, model_class, exist_ok=True)
    return model_class
