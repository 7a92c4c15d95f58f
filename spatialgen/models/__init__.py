"""Models: loading a VLM (a registry of loaders by name), the paper's interventions as parsed objects,
converting original-LLaVA checkpoints, reading model folders safely, and the tiny in-process models.
Imports scenes only; eval, training and studies build on it."""
