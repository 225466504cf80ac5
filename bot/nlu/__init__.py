"""NLU pieces: the offline MiniLM sentence encoder (ONNX) and the Rasa featurizer built on it.

`export_encoder` runs in the Python 3.11 environment (it needs torch); `encoder` and
`minilm_featurizer` run in Rasa's Python 3.10 environment, without torch.
"""
