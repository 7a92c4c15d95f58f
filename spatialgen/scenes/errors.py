"""Errors raised by the scene engine."""

from spatialgen.errors import SpatialgenError


class ConfigError(SpatialgenError):
    """A config file or preset that cannot be used."""


class InfeasibleLayout(SpatialgenError):
    """The configured objects cannot be placed on the canvas within the retry budget."""
