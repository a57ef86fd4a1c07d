"""The Berkeley Function Calling Leaderboard's own evaluator over our models (``asktoact-bfcl``,
the job step ``bfcl``), run in BFCL's own environment."""
