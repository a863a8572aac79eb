"""The rules of a livelihood-project round, in plain Python (standard library only)."""
