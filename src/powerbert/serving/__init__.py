"""Serving over HTTP: text-embeddings-inference's classification API on Ray Serve, with dynamic batching."""
