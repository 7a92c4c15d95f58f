"""The 3D world domain: primitives on a ground plane, in world units, relations in the camera frame. It owns
its config (config.py: with the Blender render settings), scene (scene.py: objects, camera, lights), layout
(layout.py), relations' geometry (relations.py), description (describe.py) and drafting (example.py: the
visibility pre-pass comes from the caller); the Blender backend (generator/blender.py, rows3d.py) turns its
scenes into images and rows."""
