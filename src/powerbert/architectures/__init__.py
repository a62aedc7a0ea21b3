"""Thin adapters that tell PowerModel where each part of a Hugging Face encoder lives."""
