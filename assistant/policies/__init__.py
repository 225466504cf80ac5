"""Rasa dialogue policies of the project (they run in the Rasa environment, Python 3.10)."""
