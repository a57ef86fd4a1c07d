"""The clarification-data pipeline: sources → sampling → underspecify → quality → clarify →
assemble → augment → build (see docs/architecture.md)."""
