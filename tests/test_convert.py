"""convert-llava on tiny checkpoints in each of the paper's layouts, checked against an independent
re-implementation of the paper's forward.

Facts from the paper's code (user074/beyond-semantics, LLaVA/llava/model/):
- multimodal_projector/builder.py: ``mlp2x_gelu`` is Sequential(Linear, GELU, Linear), saved as
  ``mm_projector.0.*`` / ``mm_projector.2.*``. ``NormalizedProjector`` holds the MLP as ``self.projector``
  and an RMSNorm (eps 1e-6) as ``self.norm``: keys ``mm_projector.projector.{0,2}.*`` and
  ``mm_projector.norm.weight``; forward = MLP, RMSNorm, clip L2 norm at 1.22, times 0.83.
  ``PoolingProjector`` holds the (possibly normalized) projector as ``self.proj`` and pools the token grid
  with AdaptiveAvgPool2d((final_spatial_size, final_spatial_size)) after it: keys ``mm_projector.proj.*``.
- llava_arch.py ``extract_multilayer_features``: embeddings, pre_layrnorm, each encoder layer, then
  ``post_layernorm`` on every layer's output; layers 12, 16, 20, 24 (stack index 11, 15, 19, 23), CLS dropped,
  concatenated on the feature axis.
- mm_utils.py ``process_images`` with image_aspect_ratio "pad": ``expand2square`` onto the image processor's
  mean colour, then the CLIP processor.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from spatialgen.models import tiny  # noqa: E402
from spatialgen.models.convert import target_prefixes  # noqa: E402

PAPER_LAYERS = (12, 16, 20, 24)
VISION = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=24,
    num_attention_heads=2,
    image_size=32,
    patch_size=8,
    projection_dim=16,
)  # 24 layers, as CLIP ViT-L/14 has, so the paper's layer indices exist; a 4 x 4 token grid
LAYOUTS = {
    "mlp": ("", False),
    "normalized": ("projector.", True),
    "pooled": ("proj.", False),
    "normalized+pooled": ("proj.projector.", True),
}


def _model(multi: bool):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    tok = tiny.tokenizer()
    text = LlamaConfig(**tiny.ARCHS["tiny"]["text"], vocab_size=len(tok), pad_token_id=tok.pad_token_id)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(**VISION),
        text_config=text,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=list(PAPER_LAYERS) if multi else -2,
    )
    torch.manual_seed(3)
    return LlavaForConditionalGeneration(cfg).eval()


def _original(root, layout: str, multi: bool):
    """An original-LLaVA checkpoint folder in ``layout``: the paper's key names and config flags."""
    from safetensors.torch import save_file

    model = _model(multi)
    sd, pre = model.state_dict(), target_prefixes(model.config)
    hidden, width = model.config.text_config.hidden_size, VISION["hidden_size"]
    small_vocab = model.config.text_config.vocab_size - 10  # the converter pads to the processor's vocabulary
    state = {}
    for k, v in sd.items():
        if k.startswith(pre["text"]):
            state["model." + k[len(pre["text"]) :]] = v.clone()
        elif k.startswith(pre["vision"]):  # original LLaVA keeps the CLIPVisionModel under vision_tower.vision_tower
            state["model.vision_tower.vision_tower.vision_model." + k[len(pre["vision"]) :]] = v.clone()
        elif k == "lm_head.weight":
            state[k] = v.clone()
    for k in ("model.embed_tokens.weight", "lm_head.weight"):
        state[k] = state[k][:small_vocab].clone()
    g = torch.Generator().manual_seed(1)
    prefix, normalized = LAYOUTS[layout]
    p = "model.mm_projector." + prefix
    k_in = (4 if multi else 1) * width
    state[p + "0.weight"] = torch.randn(hidden, k_in, generator=g) / k_in**0.5
    state[p + "0.bias"] = 0.1 * torch.randn(hidden, generator=g)
    state[p + "2.weight"] = torch.randn(hidden, hidden, generator=g) / hidden**0.5
    state[p + "2.bias"] = 0.1 * torch.randn(hidden, generator=g)
    if normalized:
        state[p.removesuffix("projector.") + "norm.weight"] = 1 + 0.3 * torch.randn(hidden, generator=g)
    src = root / "src"
    src.mkdir(parents=True)
    save_file(state, str(src / "model.safetensors"))
    tc = model.config.text_config
    config = {
        # the keys of liuhaotian/llava-v1.5-7b's config.json (mm_* at LLaVA-1.5's values), then the fork's own
        "architectures": ["LlavaLlamaForCausalLM"],
        "model_type": "llava",
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "mm_patch_merge_type": "flat",
        "hidden_size": hidden,
        "intermediate_size": tc.intermediate_size,
        "num_hidden_layers": tc.num_hidden_layers,
        "num_attention_heads": tc.num_attention_heads,
        "num_key_value_heads": tc.num_key_value_heads,
        "vocab_size": small_vocab,
        "mm_hidden_size": width,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "image_aspect_ratio": "pad",
        "normalize_projector": normalized,
        "use_multilayer_features": multi,
        "compression_after_projection": "pooled" in layout,
        "final_spatial_size": 2,
        "num_vision_tokens": 16,
    }
    (src / "config.json").write_text(json.dumps(config))
    model.config.vision_config.save_pretrained(root / "clip")
    tiny.processor(VISION["image_size"], VISION["patch_size"]).save_pretrained(root / "proc")
    return state


def paper_features(state: dict, image: Image.Image, processor, layout: str, multi: bool) -> torch.Tensor:
    """The vision tokens the paper's model hands its LLM, computed from the original weights alone."""
    from transformers import CLIPVisionConfig, CLIPVisionModel

    mean = processor.image_processor.image_mean
    w, h = image.size
    square = Image.new("RGB", (max(w, h),) * 2, tuple(int(x * 255) for x in mean))
    square.paste(image, ((max(w, h) - w) // 2, (max(w, h) - h) // 2))
    pixels = processor.image_processor(square, return_tensors="pt")["pixel_values"]
    clip = CLIPVisionModel(CLIPVisionConfig(**VISION)).eval()
    vprefix = "model.vision_tower.vision_tower.vision_model."
    sd = {k[len(vprefix) :]: v for k, v in state.items() if k.startswith(vprefix)}
    if hasattr(clip, "vision_model"):  # transformers 4.x nests the tower one level deeper
        sd = {"vision_model." + k: v for k, v in sd.items()}
    clip.load_state_dict(sd)
    with torch.no_grad():
        hs = clip(pixels, output_hidden_states=True).hidden_states
        post = getattr(clip, "vision_model", clip).post_layernorm
        x = torch.cat([post(hs[i])[:, 1:] for i in PAPER_LAYERS], dim=-1) if multi else hs[-2][:, 1:]
        prefix, normalized = LAYOUTS[layout]
        p = "model.mm_projector." + prefix
        x = F.linear(F.gelu(F.linear(x, state[p + "0.weight"], state[p + "0.bias"])), state[p + "2.weight"])
        x = x + state[p + "2.bias"]
        if normalized:
            gain = state[p.removesuffix("projector.") + "norm.weight"]
            x = gain * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
            x = x * torch.minimum(1.22 / x.norm(dim=-1, keepdim=True), torch.ones(1))
            x = x * 0.83
        if "pooled" in layout:
            b, n, d = x.shape
            side = int(n**0.5)
            grid = x.transpose(1, 2).reshape(b, d, side, side)
            x = F.adaptive_avg_pool2d(grid, (2, 2)).reshape(b, d, -1).transpose(1, 2)
    return x[0]


def llm_vision_input(vlm, ex) -> torch.Tensor:
    """The embeddings the language model receives at the image positions."""
    from spatialgen.eval.conditions import Condition
    from spatialgen.eval.scoring import encode, forward

    seen = {}
    dec = vlm.model.get_decoder()
    h = dec.register_forward_pre_hook(lambda _m, a, kw: seen.__setitem__("e", kw["inputs_embeds"]), with_kwargs=True)
    inputs = encode(vlm, [ex], Condition())
    with torch.no_grad():
        forward(vlm, inputs)
    h.remove()
    return seen["e"][0][inputs["input_ids"][0] == vlm.model.config.image_token_index]


@pytest.mark.parametrize(
    ("layout", "multi"), [("mlp", False), *((layout, True) for layout in LAYOUTS)], ids=lambda v: str(v)
)
def test_converted_model_equals_the_papers_forward(tmp_path, layout, multi):
    import io

    from spatialgen.eval.example import Example
    from spatialgen.models.convert import convert_llava
    from spatialgen.models.loading import load_model

    state = _original(tmp_path, layout, multi)
    meta = convert_llava(tmp_path / "src", tmp_path / "hf", tmp_path / "proc", tmp_path / "clip")
    assert meta.layout == layout and meta.image_mode == "pad" and meta.feature_norm == multi
    assert meta.vision_feature_layer == (list(PAPER_LAYERS) if multi else -2)
    vlm = load_model(str(tmp_path / "hf"), "float32", "cpu")
    assert vlm.image_mode == "pad"
    image = Image.new("RGB", (48, 24), (30, 200, 90))  # not square: pad and crop differ
    for x in range(0, 48, 6):
        image.paste((220, 40, 40), (x, 0, x + 3, 24))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    ex = Example(id="e", source="t", images=[buf.getvalue()], question="q", candidates=["yes", "no"], answer="yes",
                 answer_type="yes_no")  # fmt: skip
    got = llm_vision_input(vlm, ex)
    want = paper_features(state, image, vlm.processor, layout, multi)
    assert got.shape == want.shape == ((4 if "pooled" in layout else 16), 64)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_convert_cli_reports_the_layout(tmp_path):
    _original(tmp_path, "normalized+pooled", True)
    r = subprocess.run(
        [sys.executable, "-m", "spatialgen", "convert-llava", str(tmp_path / "src"), str(tmp_path / "hf"),
         "--processor", str(tmp_path / "proc"), "--vision-tower", str(tmp_path / "clip")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "projector normalized+pooled" in r.stdout and "post_layernorm" in r.stdout and "2x2" in r.stdout


def _convert(tmp_path, layers=None):
    from spatialgen.models.convert import convert_llava

    return convert_llava(tmp_path / "src", tmp_path / "dst", tmp_path / "proc", tmp_path / "clip", layers)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update({"model.mm_projector.3.weight": torch.ones(64)}), "mm_projector.3.weight"),
        (lambda s: s.update({"model.mm_projector.registers": torch.ones(1, 4, 64)}), "mm_projector.registers"),
        (lambda s: s.pop("model.mm_projector.2.bias"), "linear_2.bias"),
    ],
    ids=["unknown-index", "registers", "missing-bias"],
)
def test_unknown_layouts_are_refused_by_name(tmp_path, edit, message):
    from safetensors.torch import save_file

    from spatialgen.errors import SpatialgenError

    state = _original(tmp_path, "mlp", False)
    edit(state)
    save_file(state, str(tmp_path / "src" / "model.safetensors"))
    with pytest.raises(SpatialgenError, match=message.replace(".", r"\.")):
        _convert(tmp_path)
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mm_projector_type": "linear"}, "mm_projector_type 'linear'"),
        ({"add_spatial_coordinates": True}, "add_spatial_coordinates"),
        # The paper fork's flags that change the forward (LLaVA/llava/train/train.py ModelArguments and
        # llava_arch.py read them with getattr(config, flag, default)), each refused by name:
        ({"add_registers": True}, "add_registers"),
        ({"mm_use_im_start_end": True}, "mm_use_im_start_end: it wraps the image tokens"),
        ({"rearrange_image_features": True}, "rearrange_image_features: it reorders"),
        ({"interleave": True, "interleave_sparsity": 4}, "interleave: it interleaves coordinate tokens"),
        ({"twoD_vision_embedding": True}, "twoD_vision_embedding"),
        ({"mm_patch_merge_type": "spatial_unpad"}, "mm_patch_merge_type 'spatial_unpad'"),
        ({"image_aspect_ratio": "anyres"}, "image_aspect_ratio 'anyres'"),
        # LlavaHybridConfig.model_type in llava_llama2D.py; its saved config names the Hybrid class
        ({"model_type": "llava_llama2d"}, "LlavaLlamaHybrid"),
        ({"architectures": ["LlavaLlamaHybridForCausalLM"]}, "2D rotary positions"),
        ({"use_multilayer_features": True}, "use_multilayer_features"),
        ({"compression_after_projection": True, "final_spatial_size": None}, "final_spatial_size"),
    ],
)
def test_unsupported_configs_are_refused(tmp_path, config, message):
    from safetensors.torch import load_file, save_file

    from spatialgen.errors import SpatialgenError

    _original(tmp_path, "mlp", False)
    cfg = json.loads((tmp_path / "src/config.json").read_text())
    (tmp_path / "src/config.json").write_text(json.dumps({**cfg, **config}))
    if config.get("compression_after_projection"):  # the PoolingProjector's keys, without its size
        st = load_file(tmp_path / "src/model.safetensors")
        st = {k.replace("mm_projector.", "mm_projector.proj."): v for k, v in st.items()}
        save_file(st, str(tmp_path / "src/model.safetensors"))
    with pytest.raises(SpatialgenError, match=message):
        _convert(tmp_path)


@pytest.mark.slow  # a dozen CLI runs (about 25 s); the catalogue in test_bad_inputs keeps the quick checks
def test_garbage_inputs_are_one_line_and_exit_2(tmp_path):
    _original(tmp_path, "mlp", False)
    (tmp_path / "src/model.safetensors").write_bytes(b"not weights at all")
    cmd = [sys.executable, "-m", "spatialgen", "convert-llava", str(tmp_path / "src"), str(tmp_path / "dst"),
           "--processor", str(tmp_path / "proc"), "--vision-tower", str(tmp_path / "clip")]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and "not a readable weights file" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "dst").exists()
    r = subprocess.run([*cmd, "--feature-layers", "a,b"], capture_output=True, text=True)
    assert r.returncode == 2 and "--feature-layers must be comma-separated integers" in r.stderr
    (tmp_path / "src/config.json").write_text("{}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and "not an original-LLaVA config" in r.stderr
