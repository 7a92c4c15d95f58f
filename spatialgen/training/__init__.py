"""Training a LLaVA-style model on a render folder: the loop and its resumable checkpoints (train.py), the
from-scratch tower stage (tower.py), and the extra examples training adds (captions.py, restate.py).
Builds on models and eval (validation accuracy is eval's scoring); studies build on it."""
