"""The dataset card (README.md with YAML front matter) written into every finished render folder.

The front matter (configs, features, splits) is produced by ``datasets``/``huggingface_hub`` themselves,
so the Hub and ``load_dataset`` read the folder exactly as it is on disk. Every statistic in the body is
computed from the data files.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .backends import backend_of
from .folder import data_files
from .folder_stats import dataset_stats
from .manifest import SPLITS, Manifest, RunSpec

CITATION = """@article{qi2025beyond,
  title   = {Beyond Semantics: Rediscovering Spatial Awareness in Vision-Language Models},
  author  = {Qi, Jianing and Liu, Jiawei and Tang, Hao and Zhu, Zhigang},
  journal = {arXiv preprint arXiv:2503.17349},
  year    = {2025}
}"""

# What each column holds. The columns themselves, their order and types come from the backend's features,
# so the card's schema cannot drift from the data; a backend adds or overrides notes (Backend.columns).
COLUMNS = {
    "id": "row id: the scene index, with `-twin` for a twin image",
    "image": "the rendered image",
    "index": "scene index in the run; the scene is a pure function of (seed, index, config)",
    "split": "train / validation / test, drawn per scene from (seed, index)",
    "twin_id": "with `--twins`: the shared id of a minimal pair",
    "twin_role": "with `--twins`: original / twin",
    "width": "image width in pixels",
    "height": "image height in pixels",
    "objects": "the scene graph's objects",
    "questions": "the questions: candidates (the answer domain a scorer chooses from; the answer is one of "
    "them), program (re-derives the answer from the scene graph alone), probe (the question a twin flips)",
    "description": "the scene in words, for text-only controls",
    "difficulty": "preset, level, object count and every margin and knob of the run",
    "render": "enough to re-render the image",
}


def _type(f) -> str:
    """A feature's type, short: string, int32, Image, list<...>, struct."""
    name = type(f).__name__
    if name == "Value":
        return f.dtype
    if name in ("List", "Sequence", "LargeList") or isinstance(f, list):
        inner = f.feature if hasattr(f, "feature") else f[0]
        return f"list<{_type(inner)}>"
    if isinstance(f, dict):
        return "struct"
    return name


def _fields(f) -> str:
    """The named fields of a struct, or of a list of structs, with their own nested fields."""
    inner = f.feature if hasattr(f, "feature") else (f[0] if isinstance(f, list) else f)
    if not isinstance(inner, dict):
        return ""
    parts = []
    for k, v in inner.items():
        sub = _fields(v)
        parts.append(f"{k} ({sub})" if sub else k)
    return ", ".join(parts)


def schema_rows(spec: RunSpec) -> list[tuple[str, str, str]]:
    """(column, type, content) for every column of this run's rows, from its backend's features."""
    backend = backend_of(spec.config)
    notes = {**COLUMNS, **backend.columns}
    rows = []
    for name, f in backend.features().items():
        fields = _fields(f)
        text = notes.get(name, "")
        rows.append((name, _type(f), f"{text}{'; ' if text and fields else ''}{'fields: ' + fields if fields else ''}"))
    return rows


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _ratios(spec: RunSpec) -> str:
    """In split order, whatever order the spec's dict came back in (the card must not depend on it)."""
    return ", ".join(f"{s} {spec.splits[s]:g}" for s in SPLITS if s in spec.splits)


def command(spec: RunSpec) -> str:
    """The ``spatialgen render`` command that reproduces a run (shown on the card)."""
    parts = ["spatialgen render", f"--n {spec.n}", f"--seed {spec.seed}", f"--preset {spec.preset}"]
    if spec.twins:
        parts.append("--twins")
    if spec.format != "png":
        parts.append(f"--format {spec.format}")
    return " ".join(parts)


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


DEFAULT_LICENSE = "cc-by-4.0"


def split_sizes(out: str | Path, split: str) -> tuple[int, int]:
    """(num_bytes, download_size) of a split as the Hub reports them: the uncompressed Arrow data, and the
    parquet files as stored."""
    import pyarrow.parquet as pq

    from .storage import Store

    store, num, download = Store(out), 0, 0
    for rel in data_files(out, split):
        with store.open(rel) as f:
            meta = pq.ParquetFile(f).metadata
        num += sum(meta.row_group(k).total_byte_size for k in range(meta.num_row_groups))
        download += store.fs.size(store.path(rel))
    return num, download


class _NoAliases(yaml.SafeDumper):
    """YAML the Hub's card parser reads plainly: no &id001 anchors for repeated values."""

    def ignore_aliases(self, data) -> bool:
        return True


def _front_matter(out: str | Path, spec: RunSpec, stats: dict, splits: list[str], license: str) -> str:
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from huggingface_hub import DatasetCardData

    card = DatasetCardData(
        license=license,
        language=["en"],
        task_categories=["visual-question-answering"],
        tags=["spatial-reasoning", "synthetic", "vision-language", "spatialgen"],
        size_categories=[_size_category(stats["images"])],
        pretty_name=f"spatialgen {backend_of(spec.config).label} ({spec.preset})",
        # One run is one difficulty level: the default config is the whole folder.
        configs=[
            {"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]},
        ],
    )
    sd = SplitDict()
    total, download = 0, 0
    for s in splits:
        num, down = split_sizes(out, s)
        total, download = total + num, download + down
        sd.add(SplitInfo(name=s, num_bytes=num, num_examples=stats["rows"].get(s, 0)))
    feats = backend_of(spec.config).features()
    info = DatasetInfo(features=feats, splits=sd, download_size=download, dataset_size=total)
    DatasetInfosDict({"default": info}).to_dataset_card_data(card)
    return yaml.dump(card.to_dict(), Dumper=_NoAliases, sort_keys=False, allow_unicode=True)


def existing_license(out: str | Path) -> str | None:
    """The license an earlier card of this folder declared (so regenerating a card keeps it)."""
    from .storage import Store

    store = Store(out)
    try:
        text = store.read_bytes("README.md").decode("utf-8", "replace")
    except OSError:
        return None
    if not text.startswith("---\n"):
        return None
    try:
        meta = yaml.safe_load(text[4 : text.find("\n---", 4)])
    except yaml.YAMLError:
        return None
    lic = meta.get("license") if isinstance(meta, dict) else None
    return lic if isinstance(lic, str) else None


def card_text(out: Path, spec: RunSpec, stats: dict, license: str = DEFAULT_LICENSE) -> str:
    """The dataset card (README.md): YAML header with the features, what was rendered, measured statistics, license."""
    splits = [s for s in SPLITS if data_files(out, s)]
    backend = backend_of(spec.config)
    strict = spec.config.perceptual_rules()
    margins = ", ".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else format(v, 'g')}"
        for k, v in spec.config.margins.model_dump().items()
    )
    relations, extremes = backend.relations()
    rel_rows = [(r.name, r.family, r.words, r.margin) for r in relations.values()]
    rel_rows += [
        (
            name,
            "extreme",
            f"holds {name.replace('most', '')} against every other object",
            "the winner must hold the relation, margins included",
        )
        for name in extremes
    ]
    rel_rows += [
        ("count / exist / color / shape", q, "attribute filters and look-ups", rule)
        for q in ("count, exist, attribute",)
        for rule in (
            "exact, no margin" if not strict else "count and exist: no counted object touches one of its colour",
        )
    ]
    rel_rows += [
        (
            "relate_count / _exist / _query / _compare / _and_or, same_attribute, between_exist",
            "compositional",
            f"CLEVR-style steps: filter, unique, relate ({spec.config.hops} hops) or between, and/or, then "
            "count, exist, query, or compare two counts or two attributes",
            "every relate step clear of its margin for every object; every intermediate object unique",
        )
    ]
    yes = stats["yes_share"]
    body = f"""
# spatialgen {backend.label} spatial-relation dataset ({spec.preset})

Procedurally generated {backend.scenes} with questions about their spatial relations. Every
answer follows from the scene geometry: each question stores its program (family, relation, object ids,
answer), which re-derives the answer from the stored scene graph alone. Pairs that sit inside a relation's
ambiguity margin are never asked about{
        ""
        if not strict
        else (
            ", nor pairs a person would call a tie (perceptual rules: relations judged on what is visible of each"
            " object, extents that overlap on the asked axis, same-colour objects that touch are not counted)"
        )
    }. Made with [spatialgen](https://pypi.org/project/spatialgen/) to study
why vision-language models get spatial relations wrong (Qi et al., 2025).

![preview](preview.png)

## How it was generated

```
{command(spec)}
```

spatialgen {spec.version}, seed {spec.seed}, preset `{spec.preset}` (difficulty level {spec.level}),
{spec.n} scenes{", each with a twin" if spec.twins else ""}, {spec.format.upper()} images of
{backend.image_size(spec)} px, split ratios \
{_ratios(spec)}. The full scene config:

```yaml
{yaml.safe_dump(spec.config.model_dump(mode="json"), sort_keys=True).strip()}
```

## Relations and margins

{backend.frame} This run's margins: {margins}.

{_table(("relation", "family", "definition", "margin"), rel_rows)}

## Statistics (computed from the data)

{_table(("split", "images"), [(s, stats["rows"].get(s, 0)) for s in splits])}

{stats["questions"]} questions; yes/no answers: {stats["yes_no"].get("yes", 0)} yes, {stats["yes_no"].get("no", 0)} no
({yes:.1%} yes); multiple-choice answer letters: {stats["letters"]}; twin images: {stats["twins"]}.

{
        _table(
            ("family", "questions", "share"),
            [(f, k, f"{k / max(1, stats['questions']):.1%}") for f, k in stats["families"].items()],
        )
    }

{_table(("relation / query", "questions"), list(stats["relations"].items()))}

{_table(("hops (relate steps)", "questions"), list(stats["hops"].items()))}

{_table(("objects per image", "images"), list(stats["objects_per_image"].items()))}

## Schema

One row per image, its questions inside.

{_table(("column", "type", "content"), schema_rows(spec))}

Load it with `datasets.load_dataset("<this folder or repo id>")`.

## Use with other tools

`spatialgen export` writes a copy in the layouts other tools read, from this folder (download it with
`huggingface-cli download --repo-type dataset <repo id> --local-dir DIR` first when it came from the Hub):

- **CLEVR**: `spatialgen export DIR clevr --format clevr` writes `scenes/CLEVR_<split>_scenes.json`,
  `questions/CLEVR_<split>_questions.json` (functional programs for every question CLEVR's functions can
  express), `metadata.json` (this dataset's vocabulary) and `images/<split>/CLEVR_<split>_000000.png`:
  CLEVR's question engine answers the programs as stored here, and its question generator runs on the scenes.
- **VLMEvalKit**: `spatialgen export DIR vlmeval --format vlmevalkit` writes `spatialgen_<split>.tsv`
  (base64 images, every question as a multiple choice); copy it into `$LMUData` and run
  `python run.py --data spatialgen_test --model <model>`.
- **lmms-eval**: `spatialgen export DIR task --format lmms-eval --dataset <repo id>` writes
  `spatialgen.yaml` and `utils.py`; run `lmms_eval --include_path task --tasks spatialgen --model <model>
  --model_args pretrained=<checkpoint>`.

## Citation

```bibtex
{CITATION}
```
"""
    return "---\n" + _front_matter(out, spec, stats, splits, license).rstrip("\n") + "\n---\n" + body


def write_card(out: str | Path, manifest: Manifest, license: str | None = None) -> str:
    """Write preview.png and README.md into a rendered folder (local or URL), each atomically. ``license``
    None keeps the license of the folder's current card (cc-by-4.0 for a new one)."""
    import io

    from .preview import contact_sheet
    from .storage import Store

    store = Store(out)
    buf = io.BytesIO()
    contact_sheet(out).save(buf, "PNG")
    store.write_atomic("preview.png", buf.getvalue())
    lic = license or existing_license(out) or DEFAULT_LICENSE
    store.write_atomic("README.md", card_text(out, manifest.spec, dataset_stats(out), lic).encode())
    return store.path("README.md") if store.local else f"{store.url.rstrip('/')}/README.md"
