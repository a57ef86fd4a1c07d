"""An OpenAI-compatible server of the project's agent models (``asktoact-serve``)."""
