"""Training: chat encoding with masking schemes, weighted chunked loss, Lightning + peft + DeepSpeed.

The entry point is ``asktoact-train`` (``asktoact/cli/train.py``) over :func:`run.run_training`.
"""
