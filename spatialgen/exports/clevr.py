"""Export to CLEVR's file layout, so CLEVR's own scripts and the models trained on it read a rendered folder.

What CLEVR's files hold (facts read from facebookresearch/clevr-dataset-gen: image_generation/render_images.py,
collect_scenes.py, question_generation/generate_questions.py and question_engine.py):

- ``scenes/CLEVR_<split>_scenes.json``: ``{"info": {...}, "scenes": [...]}``; a scene has ``split``,
  ``image_index``, ``image_filename``, ``objects`` (``3d_coords``, ``pixel_coords`` [u, v, depth],
  ``rotation`` in degrees, ``color``, ``shape``, ``size``, ``material``), ``directions`` (a unit vector per
  direction name) and ``relationships``: per relation name a list, entry ``i`` the sorted indices ``j`` of the
  objects in that relation to object ``i`` (``j in relationships["left"][i]``: object j is left of object i),
  computed as ``dot(coords_j - coords_i, direction) > eps``.
- ``questions/CLEVR_<split>_questions.json``: ``{"info", "questions"}``; a question has ``split``,
  ``image_filename``, ``image_index``, ``image``, ``question``, ``program``, ``answer``, ``question_index``,
  ``question_family_index``, ``template_filename``. A program is a list of nodes ``{"type", "inputs",
  "value_inputs"}`` (inputs: indices of earlier nodes); the public release names the type ``function``, so
  both keys are written. The engine reads ``side_inputs`` where the release writes ``value_inputs``.
- ``images/<split>/CLEVR_<split>_000000.png``: the engine's scripts read the image index as the integer after
  the last ``_``.
- ``metadata.json``: the value types (Shape, Color, Size, Material, Relation) and the function signatures the
  question generator expands templates with; ``dataset`` must be "CLEVR-v1.0" for it to run.

This project's scenes in that frame. 3D: ``3d_coords`` are world coordinates, ``right`` the camera's
horizontal right vector and ``behind`` the view direction on the ground plane (as CLEVR's render script
derives them). 2D: ``3d_coords`` are (x, y, 0) in pixels of the centre the relations judge (the visible
part's, under the perceptual rules), ``right`` is +x and ``below`` +y (pixel rows grow downward), ``material``
is the texture (solid, striped) and ``pixel_coords``' depth the drawing order (0 in front). ``eps`` is half
the scene's positional margin, so every relation this project asks about has the same verdict under CLEVR's
rule. ``near`` and ``far`` are not CLEVR directions: their lists hold the objects within the scene's ``near``
distance and at least its ``far`` distance away.

Questions are written where their program maps onto CLEVR's functions: every compositional one but
"between"; yes/no questions of left/right, above/below, front/behind and near/far (as CLEVR's
relate-filter-exist: "is there an A-like object left of B"); count and exist; attribute queries. Their
answers are the canonical ones (yes/no, a number, a word). The others (closer, extremes, sizes, overlap,
occlusion, on top, camera distance, between) have no CLEVR function and are left out, counted in ``info``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialgen.generator.folder import iter_rows
from spatialgen.scenes.domains import domain_of
from spatialgen.scenes.families.compositional import HANDLERS
from spatialgen.scenes.programs import Program
from spatialgen.scenes.referring import orders

from .dest import image_ext, safe_id

# spatialgen's relation -> CLEVR's relation name.
RELATIONS = {
    "left_of": "left",
    "right_of": "right",
    "above": "above",
    "below": "below",
    "in_front_of": "front",
    "behind": "behind",
    "near": "near",
    "far": "far",
}
# Compositional steps that are CLEVR functions under the same name.
SAME = {"scene", "unique", "count", "exist", "intersect", "union"}
VERSION = "CLEVR-v1.0"  # generate_questions.py accepts no other dataset name


def _frame3d(scene) -> tuple[list[dict[str, Any]], dict[str, list[float]], tuple[float, float, float]]:
    cam = scene.camera
    r = list(cam.axes[0])  # the camera's right vector, horizontal (no roll); CLEVR's plane_left is -r
    fx, fy = cam.ground_forward
    dirs = {"behind": [fx, fy, 0.0], "left": [-r[0], -r[1], -r[2]], "above": [0.0, 0.0, 1.0]}
    objects = []
    for o in scene.objects:
        u, v, d = cam.project((o.x, o.y, o.z))
        objects.append(
            {
                "3d_coords": [o.x, o.y, o.z],
                "pixel_coords": [round(u), round(v), d],
                "rotation": o.yaw,
                "color": o.color,
                "shape": o.shape,
                "size": o.size,
                "material": o.material,
            }
        )
    m = scene.margins
    return objects, dirs, (m.margin, m.near, m.far)


def _frame2d(scene) -> tuple[list[dict[str, Any]], dict[str, list[float]], tuple[float, float, float]]:
    from spatialgen.scenes.flat.relations import seen_center

    n, objects = len(scene.objects), []
    for i, o in enumerate(scene.objects):
        cx, cy = seen_center(scene, o)
        objects.append(
            {
                "3d_coords": [cx, cy, 0.0],
                "pixel_coords": [round(o.x), round(o.y), float(n - 1 - i)],
                "rotation": o.rotation,
                "color": o.color,
                "shape": o.shape,
                "size": o.size,
                "material": o.texture,
            }
        )
    m = scene.margins
    return objects, {"left": [-1.0, 0.0, 0.0], "above": [0.0, -1.0, 0.0]}, (m.margin_px, m.near_px, m.far_px)


def _vocab3d() -> tuple[list[str], list[str]]:
    from spatialgen.scenes.world.scene import MATERIALS, SHAPES3D

    return list(SHAPES3D), list(MATERIALS)


def _vocab2d() -> tuple[list[str], list[str]]:
    from spatialgen.scenes.vocab import SHAPES

    return list(SHAPES), ["solid", "striped"]


@dataclass(frozen=True)
class Kind:
    """A scene kind in CLEVR's frame: its objects and directions, the relations CLEVR's lists leave out,
    its shapes and materials (metadata.json)."""

    frame: Callable[[Any], tuple[list[dict[str, Any]], dict[str, list[float]], tuple[float, float, float]]]
    skip: tuple[str, ...]
    vocab: Callable[[], tuple[list[str], list[str]]]


# By scene.kind (scenes/domains.py). 3D leaves out above/below as CLEVR's own lists do; 2D front/behind,
# its depth being drawing order rather than a direction.
KINDS: dict[str, Kind] = {
    "2d": Kind(_frame2d, ("front", "behind"), _vocab2d),
    "3d": Kind(_frame3d, ("above", "below"), _vocab3d),
}


def frame(scene) -> dict[str, Any]:
    """A scene's objects, directions, margin and near/far distances in CLEVR's frame (module docstring)."""
    objects, dirs, (margin, near, far) = KINDS[scene.kind].frame(scene)
    directions = {}
    for name, opposite in (("behind", "front"), ("left", "right"), ("above", "below")):
        if name in dirs:
            directions[name] = dirs[name]
            directions[opposite] = [-x for x in dirs[name]]
    for o, src in zip(objects, scene.objects, strict=True):
        o["spatialgen_id"] = src.id
    return {"objects": objects, "directions": directions, "eps": margin / 2, "near": near, "far": far}


def _along(a: list[float], b: list[float], direction: list[float]) -> float:
    return sum((x - y) * d for x, y, d in zip(a, b, direction, strict=True))


def relationships(f: dict[str, Any], names: tuple[str, ...]) -> dict[str, list[list[int]]]:
    """CLEVR's relationship lists over ``f`` (``frame``): by its dot rule for each direction, and by distance
    for ``near`` and ``far``. Unlike CLEVR's 3D scenes, a 2D scene also lists above and below (its image-plane axes)."""
    coords = [o["3d_coords"] for o in f["objects"]]
    out: dict[str, list[list[int]]] = {}
    for name in names:
        rows = []
        for i, ci in enumerate(coords):
            if name in ("near", "far"):
                d = {j: math.dist(cj, ci) for j, cj in enumerate(coords) if j != i}
                related = [j for j in d if (d[j] <= f["near"] if name == "near" else d[j] >= f["far"])]
            else:
                direction = f["directions"][name]
                related = [j for j, cj in enumerate(coords) if j != i and _along(cj, ci, direction) > f["eps"]]
            rows.append(related)
        out[name] = rows
    return out


def relation_names(scene) -> tuple[str, ...]:
    """The CLEVR relation names a scene's lists carry: its domain's relations CLEVR has a name for, less its
    kind's ``skip``."""
    dom, skip = domain_of(scene), KINDS[scene.kind].skip
    return tuple(RELATIONS[r] for r in RELATIONS if r in dom.relations and RELATIONS[r] not in skip)


class _Program:
    """A CLEVR node list under construction; ``add`` returns the new node's index."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []

    def add(self, fn: str, inputs: list[int], values: tuple[str, ...] = ()) -> int:
        self.nodes.append({"type": fn, "function": fn, "inputs": inputs, "value_inputs": list(values)})
        return len(self.nodes) - 1

    def named(self, scene, o, without: str | None = None) -> int | None:
        """scene, the filters of ``o``'s referring expression, unique; None where it has none."""
        attrs = naming(scene, o, without)
        if attrs is None:
            return None
        return self.add("unique", [self.filters(o, attrs, self.add("scene", []))])

    def filters(self, o, attrs: tuple[str, ...], at: int) -> int:
        """``o``'s value of each attribute as a filter on node ``at``, in CLEVR's attribute order."""
        for a in ("size", "color", "material", "shape"):
            if a in attrs:
                at = self.add(f"filter_{a}", [at], (_value(o, a),))
        return at


def naming(scene, o, without: str | None = None) -> tuple[str, ...] | None:
    """The attributes of ``o``'s referring expression (scenes/referring.py): the first set in its order that
    no other object shares, so filtering by them leaves ``o`` alone; None where no set does."""
    for attrs in orders(domain_of(scene).attributes, without):
        key = tuple(getattr(o, a) for a in attrs)
        if sum(tuple(getattr(p, a) for a in attrs) == key for p in scene.objects) == 1:
            return attrs
    return None


def _value(o, attr: str) -> str:
    return o.texture if attr == "material" and not hasattr(o, "material") else getattr(o, attr)


def _from_steps(steps: tuple[tuple[str, str], ...]) -> list[dict[str, Any]] | None:
    """A compositional program's step list (a stack machine, compositional.run) as CLEVR's node list."""
    prog, stack = _Program(), []
    for fn, value in steps:
        arity = HANDLERS[fn][0]
        args = stack[len(stack) - arity :] if arity else []
        del stack[len(stack) - arity :]
        if fn in SAME:
            stack.append(prog.add(fn, args))
        elif fn.startswith(("filter_", "query_")):
            stack.append(prog.add(fn, args, (value,) if fn.startswith("filter_") else ()))
        elif fn == "relate" and value in RELATIONS:
            stack.append(prog.add("relate", args, (RELATIONS[value],)))
        elif fn == "greater":
            stack.append(prog.add("greater_than", args))
        elif fn in ("same_color", "same_shape"):  # ours compares two objects: CLEVR queries both, then equal_*
            attr = fn.removeprefix("same_")
            q = [prog.add(f"query_{attr}", [i]) for i in args]
            stack.append(prog.add(f"equal_{attr}", q))
        else:
            return None  # between: no CLEVR function
    return prog.nodes


def program(p: Program, scene) -> list[dict[str, Any]] | None:
    """A question's program as CLEVR's node list, or None where CLEVR has no functions for it."""
    if p.steps:
        return _from_steps(p.steps)
    prog = _Program()
    if p.family in ("count", "exist"):
        at = prog.add("scene", [])
        for attr, v in (("color", p.color), ("shape", p.shape)):
            if v is not None:
                at = prog.add(f"filter_{attr}", [at], (v,))
        prog.add(p.family, [at])
        return prog.nodes
    by_id = {o.id: o for o in scene.objects}
    if p.family == "attribute":
        at = prog.named(scene, by_id[p.objects[0]], without=p.relation)
        if at is None:
            return None
        prog.add(f"query_{p.relation}", [at])
        return prog.nodes
    if RELATIONS.get(p.relation) in relation_names(scene) and len(p.objects) == 2:
        # "Is A left of B?": is there an object named as A is among those left of B (A's name is unique)
        a, b = by_id[p.objects[0]], by_id[p.objects[1]]
        at, attrs = prog.named(scene, b), naming(scene, a)
        if at is None or attrs is None:
            return None
        prog.add("exist", [prog.filters(a, attrs, prog.add("relate", [at], (RELATIONS[p.relation],)))])
        return prog.nodes
    return None


def metadata(kind: str) -> dict[str, Any]:
    """CLEVR's metadata.json for this project's values: the types the question generator fills templates
    with, and the signatures of CLEVR's functions (the template-only composites included)."""
    from spatialgen.scenes.vocab import COLORS, SIZES

    shapes, materials = KINDS[kind].vocab()
    skip = KINDS[kind].skip
    relations = [r for r in ("left", "right", "above", "below", "front", "behind", "near", "far") if r not in skip]
    attrs = ("Size", "Color", "Material", "Shape")
    fns: list[dict[str, Any]] = [
        {"name": "scene", "inputs": [], "output": "ObjectSet", "terminal": False},
        *(
            {"name": f"filter_{a.lower()}", "inputs": ["ObjectSet"], "side_inputs": [a], "output": "ObjectSet"}
            for a in attrs
        ),
        {"name": "unique", "inputs": ["ObjectSet"], "output": "Object", "properties": []},
        {"name": "relate", "inputs": ["Object"], "side_inputs": ["Relation"], "output": "ObjectSet"},
        {"name": "union", "inputs": ["ObjectSet", "ObjectSet"], "output": "ObjectSet"},
        {"name": "intersect", "inputs": ["ObjectSet", "ObjectSet"], "output": "ObjectSet"},
        {"name": "count", "inputs": ["ObjectSet"], "output": "Integer", "terminal": True},
        *({"name": f"query_{a.lower()}", "inputs": ["Object"], "output": a, "terminal": True} for a in attrs),
        {"name": "exist", "inputs": ["ObjectSet"], "output": "Bool", "terminal": True},
        *({"name": f"equal_{a.lower()}", "inputs": [a, a], "output": "Bool", "terminal": True} for a in attrs),
        *(
            {"name": n, "inputs": ["Integer", "Integer"], "output": "Bool", "terminal": True}
            for n in ("equal_integer", "less_than", "greater_than")
        ),
        {"name": "equal_object", "inputs": ["Object", "Object"], "output": "Bool", "terminal": True},
        *({"name": f"same_{a.lower()}", "inputs": ["Object"], "output": "ObjectSet"} for a in attrs),
    ]
    composites = {
        "filter": ([], "ObjectSet", False),
        "filter_unique": ([], "Object", False),
        "filter_count": ([], "Integer", True),
        "filter_exist": ([], "Bool", True),
        "relate_filter": (["Relation"], "ObjectSet", False),
        "relate_filter_unique": (["Relation"], "Object", False),
        "relate_filter_count": (["Relation"], "Integer", False),
        "relate_filter_exist": (["Relation"], "Bool", False),
    }
    for name, (rel, output, terminal) in composites.items():
        fns.append(
            {
                "name": name,
                "inputs": ["Object" if rel else "ObjectSet"],
                "side_inputs": [*rel, *attrs],
                "output": output,
                "terminal": terminal,
                "template_only": True,
            }
        )
    for f in fns:
        f.setdefault("terminal", False)
    return {
        "dataset": VERSION,
        "types": {
            "Object": None,
            "ObjectSet": None,
            "Integer": None,
            "Bool": None,
            "Shape": shapes,
            "Color": list(COLORS),
            "Relation": relations,
            "Size": list(SIZES),
            "Material": materials,
        },
        "functions": fns,
    }


def family_names() -> list[str]:
    """Every question family, sorted: ``question_family_index`` is a family's place in this list."""
    from spatialgen.scenes.domains import domains
    from spatialgen.scenes.families import DECLARED

    return sorted({f for d in domains() for f in (*d.binary, *d.searched)} | set(DECLARED))


def write(out: Path, dest: Path, splits: list[str], on_row: Callable[[], None]) -> dict[str, Any]:
    """Write the CLEVR layout under ``dest``; returns counts (scenes, questions, left out by family)."""
    from spatialgen.generator.backends import backend_of
    from spatialgen.generator.folder import finished

    scene_of = backend_of(finished(out).spec.config).scene_of
    info = {"date": "", "version": "1.0", "license": "", "source": "spatialgen"}
    kind, scenes_n, questions_n, left_out = "", 0, 0, Counter()
    families = family_names()
    (dest / "scenes").mkdir()
    (dest / "questions").mkdir()
    for split in splits:
        images = dest / "images" / split
        images.mkdir(parents=True)
        scenes, questions, skipped = [], [], Counter()
        for index, r in enumerate(iter_rows(out, split=split)):
            rid = safe_id(r["id"])
            scene = scene_of(r)
            kind = scene.kind
            data = r["image"]["bytes"]
            name = f"CLEVR_{split}_{index:06d}.{image_ext(data)}"
            (images / name).write_bytes(data)
            f = frame(scene)
            scenes.append(
                {
                    "split": split,
                    "image_index": index,
                    "image_filename": name,
                    "objects": f["objects"],
                    "directions": f["directions"],
                    "relationships": relationships(f, relation_names(scene)),
                    "spatialgen_id": rid,
                    "relationships_eps": f["eps"],
                }
            )
            for q in r["questions"]:
                p = Program.from_dict(q["program"])
                nodes = program(p, scene)
                if nodes is None:
                    skipped[q["family"]] += 1
                    continue
                questions.append(
                    {
                        "split": split,
                        "image_filename": name,
                        "image_index": index,
                        "image": name.rsplit(".", 1)[0],
                        "question": q["text"],
                        "program": nodes,
                        "answer": p.answer,
                        "question_index": len(questions),
                        "question_family_index": families.index(q["family"]),
                        "template_filename": f"spatialgen_{q['family']}",
                        "spatialgen_id": rid,
                        "spatialgen_qid": q["qid"],
                    }
                )
            on_row()
        split_info = {**info, "split": split}
        _dump(dest / "scenes" / f"CLEVR_{split}_scenes.json", {"info": split_info, "scenes": scenes})
        _dump(
            dest / "questions" / f"CLEVR_{split}_questions.json",
            {"info": {**split_info, "left_out": dict(sorted(skipped.items()))}, "questions": questions},
        )
        left_out.update(skipped)
        scenes_n, questions_n = scenes_n + len(scenes), questions_n + len(questions)
    _dump(dest / "metadata.json", metadata(kind))  # a render folder holds one backend's scenes
    return {"scenes": scenes_n, "questions": questions_n, "left_out": dict(sorted(left_out.items()))}


def _dump(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj))
