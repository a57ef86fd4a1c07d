"""Tool use as TL-Training's trajectories have it: the call-turn format and OpenAI-style function
specs (:mod:`asktoact.tools.calls`) and an executable, seeded tool environment
(:mod:`asktoact.tools.env`). Imports only the shared modules (``asktoact/schema.py``)."""
