"""bench: a competition and benchmark harness for audio machine learning."""

__version__ = "0.1.0"
