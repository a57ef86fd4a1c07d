"""Training: chat encoding with masking schemes, weighted chunked loss, Lightning + peft + DeepSpeed.

``python -m asktoact.train`` (= ``asktoact-train``) is the entry point (``__main__.py``).
"""
