"""The flat 2D domain: colored shapes on a canvas, in pixels, x to the right and y downward. It owns its
config (config.py), scene (scene.py), visible geometry (geometry.py), layout (layout.py), relations'
geometry (relations.py), description (describe.py) and drafting (example.py); the Pillow backend
(generator/render2d.py, rows2d.py) turns its scenes into images and rows."""
