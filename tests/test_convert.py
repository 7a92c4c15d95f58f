"""convert-llava on a small synthetic checkpoint with the original LLaVA key names and shape pattern."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialgen.eval import tiny  # noqa: E402
from spatialgen.eval.convert import map_key, target_prefixes  # noqa: E402

LAYERS = (0, 1, 2, 3)  # the tiny CLIP has 3 layers: 4 hidden states, concatenated like the paper's 12/16/20/24


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """An original-LLaVA checkpoint: the paper's normalized projector over 4 concatenated CLIP layers."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("orig")
    model, processor = tiny.build(seed=1)
    sd = model.state_dict()
    vision_prefix = target_prefixes(model.config)["vision"]
    vision_w = 32
    hidden = model.config.text_config.hidden_size
    small_vocab = model.config.text_config.vocab_size - 10  # the converter pads to the processor's vocabulary
    g = torch.Generator().manual_seed(0)
    state = {}
    for k, v in sd.items():
        if k.startswith("model.language_model."):
            state["model." + k[len("model.language_model.") :]] = v.clone()
        elif k.startswith(vision_prefix):  # original LLaVA saves the CLIPVisionModel under vision_tower.vision_tower
            state["model.vision_tower.vision_tower.vision_model." + k[len(vision_prefix) :]] = v.clone()
        elif k == "lm_head.weight":
            state[k] = v.clone()
    state["model.embed_tokens.weight"] = state["model.embed_tokens.weight"][:small_vocab].clone()
    state["lm_head.weight"] = state["lm_head.weight"][:small_vocab].clone()
    state["model.mm_projector.0.weight"] = torch.randn(hidden, 4 * vision_w, generator=g)
    state["model.mm_projector.0.bias"] = torch.randn(hidden, generator=g)
    state["model.mm_projector.2.weight"] = torch.randn(hidden, hidden, generator=g)
    state["model.mm_projector.2.bias"] = torch.randn(hidden, generator=g)
    state["model.mm_projector.3.weight"] = 1 + 0.1 * torch.randn(hidden, generator=g)  # RMSNorm gain
    src = root / "src"
    src.mkdir()
    save_file(state, str(src / "model.safetensors"))
    tc = model.config.text_config
    (src / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["LlavaLlamaForCausalLM"],
                "hidden_size": hidden,
                "intermediate_size": tc.intermediate_size,
                "num_hidden_layers": tc.num_hidden_layers,
                "num_attention_heads": tc.num_attention_heads,
                "num_key_value_heads": tc.num_key_value_heads,
                "vocab_size": small_vocab,
                "mm_hidden_size": 4 * vision_w,
                "mm_projector_type": "mlp2x_gelu",
                "mm_vision_select_layer": -2,
                "mm_vision_select_feature": "patch",
                "mm_vision_tower": "openai/clip-vit-large-patch14-336",
                "normalize_projector": True,
                "use_multilayer_features": True,
            }
        )
    )
    model.config.vision_config.save_pretrained(root / "clip")
    processor.save_pretrained(root / "proc")
    return root, state


def test_convert_round_trips_weights_exactly(original, tmp_path):
    from transformers import LlavaForConditionalGeneration

    root, state = original
    dst = tmp_path / "hf"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "spatialgen",
            "convert-llava",
            str(root / "src"),
            str(dst),
            "--processor",
            str(root / "proc"),
            "--vision-tower",
            str(root / "clip"),
            "--feature-layers",
            ",".join(map(str, LAYERS)),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "normalized projector yes" in r.stdout
    model = LlavaForConditionalGeneration.from_pretrained(dst)
    loaded = model.state_dict()
    assert model.config.vision_feature_layer == list(LAYERS)
    n = 0
    prefixes = target_prefixes(model.config)
    for k, v in state.items():
        new = map_key(k, prefixes)
        if new is None:
            continue
        got = loaded[new]
        if k in ("model.embed_tokens.weight", "lm_head.weight"):
            assert torch.equal(got[: v.shape[0]], v)
            assert torch.allclose(got[v.shape[0] :], v.mean(0).expand(got.shape[0] - v.shape[0], -1))
        else:
            assert torch.equal(got, v), k
        n += 1
    assert n == len(state) - 1  # every weight but the gain, which lives in the sidecar
    from safetensors.torch import load_file

    assert torch.equal(
        load_file(dst / "spatialgen_projector_norm.safetensors")["weight"], state["model.mm_projector.3.weight"]
    )


def test_converted_model_evaluates_with_its_normalized_projector(original, tmp_path, rendered):
    from spatialgen.eval.convert import convert_llava
    from spatialgen.eval.interventions import projector
    from spatialgen.eval.models import load_model
    from spatialgen.eval.scoring import Condition, encode, forward
    from spatialgen.eval.sources import load_source

    root, state = original
    convert_llava(root / "src", tmp_path / "hf", root / "proc", root / "clip", LAYERS)
    vlm = load_model(str(tmp_path / "hf"), "float32", "cpu")
    seen = {}
    proj = projector(vlm.model)
    h1 = proj.register_forward_pre_hook(lambda _m, a: seen.__setitem__("in", a[0]))
    h2 = proj.register_forward_hook(lambda _m, _i, o: seen.__setitem__("out", o))
    exs = load_source(str(rendered), limit=2).examples
    with torch.no_grad():
        logits = forward(vlm, encode(vlm, exs, Condition())).logits
        raw = proj.linear_2(proj.act(proj.linear_1(seen["in"])))
    h1.remove()
    h2.remove()
    assert seen["in"].shape[-1] == 4 * 32 and torch.isfinite(logits).all()
    x = raw / torch.sqrt(raw.pow(2).mean(-1, keepdim=True) + 1e-6) * state["model.mm_projector.3.weight"]
    x = x * torch.clamp(1.22 / x.norm(dim=-1, keepdim=True), max=1.0)
    assert torch.allclose(seen["out"], 0.83 * x, atol=1e-5)
    assert (seen["out"].norm(dim=-1) <= 0.83 * 1.22 + 1e-4).all()


def test_convert_refuses_non_llava(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "config.json").write_text("{}")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "spatialgen",
            "convert-llava",
            str(tmp_path / "src"),
            str(tmp_path / "dst"),
            "--processor",
            str(tmp_path),
            "--vision-tower",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "not an original-LLaVA config" in r.stderr
