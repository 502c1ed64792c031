"""Encoding the planning problem as CNF: one module per concern."""
