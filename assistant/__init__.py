"""What the Rasa server loads (Python 3.10, Rasa 3.6.21): NLU components, policies, channels.

Imports Rasa and `common` only, never the application (`supportbot`) or the lab.
"""
