"""Streaming engine: sources, still face box, sliding window, spotting, inference on a worker thread."""
