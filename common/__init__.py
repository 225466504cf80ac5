"""Code both interpreters import: the Rasa server (Python 3.10) and the application (3.11).

Standard library and numpy only (plus ONNX Runtime and `tokenizers` for the encoder), so that
either environment can load it: the shape of a chat message, the signed conversation ids of the
widget, and the MiniLM sentence encoder.
"""
