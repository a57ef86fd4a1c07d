"""asktoact: clarification-dialogue data, self-correction training and interactive evaluation."""

import os

# Offline first: importing litellm otherwise fetches its model-price map from the network (and
# retries for seconds when there is none). The bundled copy is used unless the user opts out.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
