"""spatialgen: procedural spatial-reasoning data and evaluation for vision-language models."""

__version__ = "0.3.0"
