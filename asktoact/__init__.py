"""asktoact: clarification-dialogue data, self-correction training and interactive evaluation."""

__version__ = "0.1.0"
