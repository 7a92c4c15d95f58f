"""A text-only rendition of a scene, for control runs that ask the same questions without the image."""

from __future__ import annotations

from .model import Scene


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


def describe3d(scene) -> str:
    """A 3D scene in words: each object, where it stands (or what it rests on), and the camera."""
    parts = []
    for o in scene.objects:
        where = f"at ({o.x:.1f}, {o.y:.1f})" if o.on < 0 else f"on top of object {o.on}"
        parts.append(f"object {o.id}: a {o.size} {o.color} {o.material} {o.shape} {where}")
    c = scene.camera
    return (
        f"A 3D scene with {len(scene.objects)} objects on a ground plane (x to the right, y away, in world "
        f"units); the camera stands at ({c.location[0]:.1f}, {c.location[1]:.1f}, {c.location[2]:.1f}) looking "
        f"at ({c.look_at[0]:.1f}, {c.look_at[1]:.1f}): " + "; ".join(parts) + "."
    )
