"""TL-Training's reinforcement stage: the IRM reward (``reward``) and its optimisation (``run``)."""
