"""Deployment: int8 PyTorch models, ONNX export, and runtime classes that serve exported folders."""
