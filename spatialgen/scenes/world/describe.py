"""A 3D scene in words: the text-only rendition, for control runs that ask the same questions without the
image."""

from __future__ import annotations


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
