"""spatialgen: procedural spatial-reasoning data and evaluation for vision-language models."""

__version__ = "0.3.0"

__all__ = ["diagnose", "evaluate", "export", "export_2ds", "push", "rejudge", "render", "study", "train"]


def __getattr__(name: str):
    # The API loads on first use: `import spatialgen` stays instant (the CLI's --help included).
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'spatialgen' has no attribute {name!r}")
