"""The one exception type users can cause; the CLI turns it into one line and exit code 2."""


class SpatialgenError(Exception):
    """A problem the user can fix (bad config, infeasible layout, bad folder, missing extra)."""
