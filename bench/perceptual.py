"""How many questions the perceptual rules reject: each preset generated with the rules off
(``margins.strict: false``), every asked question re-executed on the same scene with the rules on.

    python bench/perceptual.py            # 1,000 scenes per preset, seed 0
"""

from __future__ import annotations

import argparse
import collections

from spatialgen.scenes.config import load_preset
from spatialgen.scenes.families import execute
from spatialgen.scenes.flat.example import make_example
from spatialgen.scenes.flat.scene import Scene


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="scenes per preset")
    ap.add_argument("--presets", default="medium,hard,expert")
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


if __name__ == "__main__":
    main()
