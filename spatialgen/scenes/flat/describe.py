"""A flat scene in words: the text-only rendition, for control runs that ask the same questions without the
image."""

from __future__ import annotations

from .scene import Scene


def describe(scene: Scene) -> str:
    """A flat scene in words: each object with its size, color, shape and pixel center."""
    parts = []
    for o in scene.objects:
        extras = []
        if o.texture != "solid":
            extras.append(o.texture)
        if o.outline:
            extras.append("outlined")
        extra = f" ({', '.join(extras)})" if extras else ""
        parts.append(f"a {o.size} {o.color} {o.shape}{extra} centered at ({o.x:.0f}, {o.y:.0f})")
    n = len(scene.objects)
    return (
        f"A {scene.width}x{scene.height} image with {n} object{'s' if n != 1 else ''}; coordinates are pixels "
        f"from the top-left corner, x to the right and y downward: " + "; ".join(parts) + "."
    )
