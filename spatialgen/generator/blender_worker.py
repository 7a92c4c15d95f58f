"""A persistent Blender renderer, run as ``python blender_worker.py SCRATCH`` in an interpreter that has bpy
(SCRATCH: the client's folder for Blender's image files, removed when the worker exits).

Standalone on purpose (it imports only bpy and the standard library): bpy pins numpy<2, so it usually
lives in its own environment, and the client (generator/blender.py) talks to it over stdin/stdout with
length-prefixed frames. Blender starts once; each request clears the previous scene's objects and builds
the next one from cached meshes and materials.

Request: {"op": "render", "scene": <Scene3D dict>, "pass": "ids" | "beauty", "render": {...}, "threads": n}
Reply: header {"ok": true} or {"ok": false, "error": "..."}, then the PNG bytes.
"""

import json
import math
import os
import shutil
import struct
import sys

# Blender prints to fd 1; keep a private copy of the real stdout for the protocol.
_OUT = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)

import bpy  # noqa: E402

ID_STEP = 6  # object k is drawn with red channel (k + 1) * ID_STEP in the ID pass


def srgb_to_linear(c):
    c = c / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _read(n):
    buf = b""
    while len(buf) < n:
        chunk = sys.stdin.buffer.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _send(header, payload=b""):
    h = json.dumps(header).encode()
    _OUT.write(struct.pack(">I", len(h)) + h + struct.pack(">I", len(payload)) + payload)
    _OUT.flush()


class Session:
    def __init__(self, tmp):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self.meshes = {}
        self.materials = {}
        self.objects = []
        self.tmp = tmp  # the client's scratch folder (Blender writes its images to files); the client removes it
        s = self.scene
        world = bpy.data.worlds.new("world")
        world.use_nodes = True
        world.node_tree.nodes["Background"].inputs[0].default_value = (0.05, 0.05, 0.05, 1)
        s.world = world
        s.view_settings.view_transform = "Standard"
        s.view_settings.look = "None"
        s.render.dither_intensity = 0.0
        s.render.image_settings.file_format = "PNG"
        s.render.image_settings.color_mode = "RGB"
        s.render.image_settings.color_depth = "8"
        s.render.image_settings.compression = 15
        s.render.film_transparent = False
        bpy.ops.mesh.primitive_plane_add(size=60)
        self.ground = bpy.context.active_object
        self.ground.data.materials.append(self._material("ground", (150, 150, 150), "rubber"))
        self.ground.color = (0, 0, 0, 1)
        cam_data = bpy.data.cameras.new("camera")
        self.camera = bpy.data.objects.new("camera", cam_data)
        s.collection.objects.link(self.camera)
        s.camera = self.camera
        self.lights = []
        for k in range(3):
            ld = bpy.data.lights.new(f"light{k}", "AREA")
            lo = bpy.data.objects.new(f"light{k}", ld)
            s.collection.objects.link(lo)
            self.lights.append(lo)

    def _material(self, key, rgb, kind):
        if key in self.materials:
            return self.materials[key]
        m = bpy.data.materials.new(key)
        m.use_nodes = True
        nodes, links = m.node_tree.nodes, m.node_tree.links
        nodes.clear()
        out = nodes.new("ShaderNodeOutputMaterial")
        color = (*(srgb_to_linear(c) for c in rgb), 1)
        # Plain BSDFs rather than the Principled one: the same look for matte rubber and metal at a
        # fraction of the shading cost.
        if kind == "metal":
            bsdf = nodes.new("ShaderNodeBsdfGlossy")
            bsdf.inputs["Roughness"].default_value = 0.25
        else:
            bsdf = nodes.new("ShaderNodeBsdfDiffuse")
        bsdf.inputs["Color"].default_value = color
        links.new(bsdf.outputs[0], out.inputs["Surface"])
        m.diffuse_color = color
        self.materials[key] = m
        return m

    def _mesh(self, shape):
        if shape not in self.meshes:
            ops = bpy.ops.mesh
            if shape == "cube":
                ops.primitive_cube_add(size=2)
            elif shape == "sphere":
                ops.primitive_uv_sphere_add(radius=1, segments=48, ring_count=24)
            elif shape == "cylinder":
                ops.primitive_cylinder_add(radius=1, depth=2, vertices=48)
            elif shape == "cone":
                ops.primitive_cone_add(radius1=1, radius2=0, depth=2, vertices=48)
            else:
                ops.primitive_torus_add(major_radius=0.65, minor_radius=0.35, major_segments=48, minor_segments=24)
            o = bpy.context.active_object
            if shape != "cube":
                for p in o.data.polygons:
                    p.use_smooth = True
            mesh = o.data
            mesh.materials.append(None)
            bpy.data.objects.remove(o, do_unlink=True)
            self.meshes[shape] = mesh
        return self.meshes[shape]

    def build(self, scene):
        for o in self.objects:
            bpy.data.objects.remove(o, do_unlink=True)
        self.objects = []
        for d in scene["objects"]:
            o = bpy.data.objects.new(f"obj{d['id']}", self._mesh(d["shape"]))
            self.scene.collection.objects.link(o)
            o.location = (d["x"], d["y"], d["z"])
            o.rotation_euler = (0, 0, math.radians(d["yaw"]))
            o.scale = (d["r"], d["r"], d["r"])
            slot = o.material_slots[0]
            slot.link = "OBJECT"
            slot.material = self._material(f"{d['color']}-{d['material']}", d["rgb"], d["material"])
            o.color = (srgb_to_linear((d["id"] + 1) * ID_STEP), 0, 0, 1)
            self.objects.append(o)
        c = scene["camera"]
        cam = self.camera
        cam.data.lens = c["lens"]
        cam.data.sensor_width = c["sensor"]
        cam.data.sensor_fit = "AUTO"
        cam.matrix_world = _look_at(c["location"], c["look_at"])
        self.scene.render.resolution_x, self.scene.render.resolution_y = c["width"], c["height"]
        self.scene.render.resolution_percentage = 100
        for lo, li in zip(self.lights, scene["lights"], strict=True):
            lo.location = li["location"]
            lo.matrix_world = _look_at(li["location"], (0, 0, 0))
            lo.data.energy = li["energy"]
            lo.data.size = li["size"]

    def _depth_material(self):
        if "depth" not in self.materials:
            m = bpy.data.materials.new("depth")
            m.use_nodes = True
            nodes, links = m.node_tree.nodes, m.node_tree.links
            nodes.clear()
            cam = nodes.new("ShaderNodeCameraData")
            emit = nodes.new("ShaderNodeEmission")
            out = nodes.new("ShaderNodeOutputMaterial")
            links.new(cam.outputs["View Z Depth"], emit.inputs["Color"])
            links.new(emit.outputs[0], out.inputs["Surface"])
            self.materials["depth"] = m
        return self.materials["depth"]

    def depth(self, req):
        """Camera z-depth per pixel (world units, 0 where nothing is hit) as little-endian float32."""
        import numpy as np

        s = self.scene
        self.build(req["scene"])
        view_layer = s.view_layers[0]
        world_color = s.world.node_tree.nodes["Background"].inputs[0].default_value[:]
        fmt = s.render.image_settings
        pixel_filter = (s.cycles.pixel_filter_type, s.cycles.filter_width)
        try:
            s.render.engine = "CYCLES"
            s.cycles.samples, s.cycles.use_denoising, s.cycles.device = 1, False, "CPU"
            s.cycles.pixel_filter_type, s.cycles.filter_width = "BOX", 0.01  # one ray through each pixel center
            s.world.node_tree.nodes["Background"].inputs[0].default_value = (0, 0, 0, 1)
            view_layer.material_override = self._depth_material()
            fmt.file_format, fmt.color_depth, fmt.color_mode = "OPEN_EXR", "32", "RGB"
            path = os.path.join(self.tmp, "depth.exr")
            s.render.filepath = path
            bpy.ops.render.render(write_still=True)
            img = bpy.data.images.load(path)
            w, h = img.size
            px = np.array(img.pixels[:], dtype=np.float32).reshape(h, w, 4)[::-1, :, 0]
            bpy.data.images.remove(img)
            return np.ascontiguousarray(px).astype("<f4").tobytes()
        finally:
            view_layer.material_override = None
            s.world.node_tree.nodes["Background"].inputs[0].default_value = world_color
            fmt.file_format, fmt.color_depth, fmt.color_mode = "PNG", "8", "RGB"
            s.cycles.pixel_filter_type, s.cycles.filter_width = pixel_filter

    def render(self, req):
        s = self.scene
        if req["pass"] == "depth":
            return self.depth(req)
        self.build(req["scene"])
        threads = int(req.get("threads") or 0)
        s.render.threads_mode = "FIXED" if threads else "AUTO"
        if threads:
            s.render.threads = threads
        if req["pass"] == "ids":
            s.render.engine = "BLENDER_WORKBENCH"
            s.display.render_aa = "OFF"
            sh = s.display.shading
            sh.light, sh.color_type = "FLAT", "OBJECT"
            sh.show_shadows = sh.show_cavity = sh.show_object_outline = sh.show_specular_highlight = False
            s.view_settings.view_transform = "Standard"
        else:
            r = req["render"]
            if r["engine"] == "cycles":
                s.render.engine = "CYCLES"
                s.cycles.samples = r["samples"]
                s.cycles.use_denoising = r["denoise"]
                s.cycles.seed = 0
                s.cycles.use_adaptive_sampling = False
                s.cycles.device = _device(r["device"])
                # Tabletop scenes need few bounces; caustics only add noise. Keep the BVH and shaders
                # between renders of one session (most of a small scene's render time otherwise).
                s.cycles.max_bounces, s.cycles.diffuse_bounces, s.cycles.glossy_bounces = 3, 1, 2
                s.cycles.use_light_tree = False
                s.cycles.denoising_prefilter = "FAST"
                s.cycles.transmission_bounces = s.cycles.volume_bounces = s.cycles.transparent_max_bounces = 0
                s.cycles.caustics_reflective = s.cycles.caustics_refractive = False
                s.render.use_persistent_data = True
            elif r["engine"] == "eevee":
                s.render.engine = "BLENDER_EEVEE"
                s.eevee.taa_render_samples = r["samples"]
            else:
                s.render.engine = "BLENDER_WORKBENCH"
                s.display.render_aa = "8"
                sh = s.display.shading
                sh.light, sh.color_type = "STUDIO", "MATERIAL"
                sh.show_shadows = True
        path = os.path.join(self.tmp, "out.png")
        s.render.filepath = path
        bpy.ops.render.render(write_still=True)
        with open(path, "rb") as f:
            return f.read()


def _device(kind):
    if kind != "gpu":
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
        try:
            prefs.compute_device_type = backend
        except TypeError:
            continue
        prefs.refresh_devices()
        gpus = [d for d in prefs.devices if d.type == backend]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == backend
            return "GPU"
    raise RuntimeError("no GPU for Cycles (tried OptiX, CUDA, HIP, oneAPI, Metal); use --device cpu")


def _look_at(loc, target):
    from mathutils import Matrix, Vector

    f = (Vector(target) - Vector(loc)).normalized()
    r = f.cross(Vector((0, 0, 1))).normalized()
    u = r.cross(f)
    m = Matrix.Identity(4)
    for i in range(3):
        m[i][0], m[i][1], m[i][2], m[i][3] = r[i], u[i], -f[i], loc[i]
    return m


def main():
    session = Session(sys.argv[1])
    _send({"ok": True, "ready": True, "version": bpy.app.version_string})
    try:
        while True:
            raw = _read(4)
            if raw is None:  # the client closed its end (or died: a pool's process exits without atexit)
                return
            req = json.loads(_read(struct.unpack(">I", raw)[0]))
            try:
                _send({"ok": True}, session.render(req))
            except Exception as e:  # reported to the client, which raises it there
                _send({"ok": False, "error": f"{type(e).__name__}: {e}"})
    finally:
        shutil.rmtree(session.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
