"""How many questions the perceptual rules reject: each preset generated with the rules off
(``margins.strict: false``), every asked question re-executed on the same scene with the rules on. Then
the relative distance margin (``distance_ratio``, a Weber fraction) against the flat one alone: each preset
generated with ``distance_ratio: 1`` (the flat ``margin_px`` only, as before), its closer/farther questions
re-executed with the preset's ratio, and the smallest ratio of the two distances asked under each.

    python bench/perceptual.py            # 1,000 scenes per preset, seed 0
"""

from __future__ import annotations

import argparse
import collections

from spatialgen.scenes.config import load_preset
from spatialgen.scenes.families import execute
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.flat.relations import _dist
from spatialgen.scenes.flat.scene import Scene


def distance_ratios(preset: str, n: int) -> None:
    """Closer/farther under the flat margin alone and with the preset's distance_ratio."""
    cfg = load_preset(preset).config
    flat = cfg.model_copy(update={"margins": cfg.margins.model_copy(update={"distance_ratio": 1.0})})
    ratios: dict[str, list[float]] = {"flat margin only": [], f"distance_ratio {cfg.margins.distance_ratio}": []}
    rejected = 0
    for name, c in zip(ratios, (flat, cfg), strict=True):
        for i in range(n):
            sc = make_example(c, 0, i).original
            for q in sc.questions:
                if q.program.family != "closer":
                    continue
                a, b, anchor = (sc.scene.by_id[k] for k in q.program.objects)
                da, db = _dist(sc.scene, a, anchor), _dist(sc.scene, b, anchor)
                ratios[name].append(max(da, db) / min(da, db))
                if c is flat:
                    weber = Scene(sc.scene.width, sc.scene.height, sc.scene.objects, cfg.margins)
                    rejected += execute(q.program, weber) != q.program.answer
    old, new = ratios.values()
    below = sum(r < 1.1 for r in old)
    print(
        f"{preset} closer/farther: flat margin only {len(old)} asked (smallest distance ratio {min(old):.3f}, "
        f"{below} under 1.10), {rejected} of them rejected by distance_ratio {cfg.margins.distance_ratio}; "
        f"with it {len(new)} asked (smallest ratio {min(new):.3f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="scenes per preset")
    ap.add_argument("--presets", default="easy,medium,hard,expert")
    a = ap.parse_args()
    for preset in a.presets.split(","):
        cfg = load_preset(preset).config
        loose = cfg.model_copy(update={"margins": cfg.margins.model_copy(update={"strict": False})})
        asked, rejected = collections.Counter(), collections.Counter()
        turned = squares = 0
        for i in range(a.n):
            sc = make_example(loose, 0, i).original
            strict = Scene(sc.scene.width, sc.scene.height, sc.scene.objects, cfg.margins)
            for o in sc.scene.objects:
                if o.shape in ("square", "diamond"):
                    squares += 1
                    turned += abs(o.rotation) > cfg.shape_rotation_max.get(o.shape, 180)
            for q in sc.questions:
                asked[q.program.family] += 1
                rejected[q.program.family] += execute(q.program, strict) != q.program.answer
        print(f"{preset}: {turned} of {squares} squares and diamonds turned past their limit")
        for f in sorted(asked):
            share = rejected[f] / asked[f]
            print(f"  {f:12s} {rejected[f]:5d} of {asked[f]:5d} asked questions rejected ({share:.1%})")
    for preset in a.presets.split(","):
        distance_ratios(preset, a.n)


if __name__ == "__main__":
    main()
