"""Data, shipped in the wheel: the project's JSON-LD contexts and JSON Schemas."""
