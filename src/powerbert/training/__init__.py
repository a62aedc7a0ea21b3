"""Training: GLUE tasks and data, and the three PoWER-BERT stages on the Hugging Face Trainer."""
