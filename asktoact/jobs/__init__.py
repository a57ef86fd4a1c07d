"""Experiment jobs (one table row: generate → train → evaluate) and ``make reproduce``."""
