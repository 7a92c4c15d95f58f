"""Loading a VLM with transformers: LLaVA-1.5 (llava-hf layout) first-class, other families through
AutoModelForImageTextToText, and ``tiny-random`` for tests. GPU by default when present. Each kind of model
name is one loader registered with ``@loader`` (models/registry.py); ``load_model`` looks the name up."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

from spatialgen.errors import SpatialgenError
from spatialgen.models.files import load_errors, load_processor, refuse_pickle_only
from spatialgen.models.registry import ANY, LOADERS, RANDOM, TEXT_LM, TINY_RANDOM, check, find, loader
from spatialgen.untrusted import shown

# Which interventions each family supports (see README). "norm", "permute", "pool" hook the projected
# vision tokens; "layers" re-selects vision-encoder features and needs a LLaVA-style projector.
FAMILIES: dict[str, dict[str, Any]] = {
    "llava": {"interventions": ("norm", "layers", "permute", "pool"), "note": "LLaVA-1.5 (llava-hf)"},
    "llava_next": {"interventions": ("norm", "layers", "permute"), "note": "LLaVA-NeXT: tiles, no pool"},
    "qwen2_vl": {"interventions": ("norm", "permute"), "note": "Qwen2-VL: merged patches, M-RoPE"},
    "qwen2_5_vl": {"interventions": ("norm", "permute"), "note": "Qwen2.5-VL"},
    "idefics3": {"interventions": ("norm", "permute"), "note": "Idefics3 / SmolVLM"},
    "smolvlm": {"interventions": ("norm", "permute"), "note": "SmolVLM"},
    "paligemma": {"interventions": ("norm", "permute", "pool"), "note": "PaliGemma (scaled embeddings)"},
}


def _require_eval_extra():
    try:
        import torch
        import transformers
    except ImportError:
        raise SpatialgenError("evaluation needs the eval extra: pip install 'spatialgen[eval]'") from None
    return torch, transformers


# The paper's conversation (LLaVA's ``conv_llava_v1``): system prompt, "USER: <image>\n{question} ASSISTANT:",
# and "</s>" after the answer.
LLAVA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
PROMPT_STYLES = ("default", "paper")
IMAGE_MODES = ("crop", "pad")
_SENTINEL = "SPATIALGEN_ANSWER"
TEXT_FAMILY = "text"  # a plain causal LM's family: no vision tower


@dataclass
class VLM:
    name: str
    model: Any
    processor: Any
    family: str
    device: Any
    dtype: Any
    image_mode: str = "crop"  # pad: the paper's expand-to-square before the processor; crop: the processor's own
    prompt_style: str = "default"  # default: the model's chat template; paper: LLaVA v1 conversation
    pool: int | None = None  # k: a converted checkpoint whose projector pools to k x k tokens
    upscale: float | None = None  # diagnose: resize each image by this factor first (the paper's norms: 3)
    strip_system: bool = False  # diagnose: LLaVA v1's system prompt removed (the paper's --strip_system_prompt)
    context: dict[str, Any] = field(default_factory=dict)  # per-batch facts hooks need (example ids)

    @property
    def tokenizer(self) -> Any:
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def cache_arg(self) -> str:
        """transformers 5.2x names the KV cache ``cache``; earlier 5.x and 4.x ``past_key_values``."""
        params = inspect.signature(self.model.forward).parameters
        return "cache" if "cache" in params else "past_key_values"

    @property
    def text_only(self) -> bool:
        """A plain causal LM (``text:MODEL``): the text-only rows, no image ever."""
        return self.family == TEXT_FAMILY

    def _llava_v1(self) -> bool:
        # LLaVA v1's conversation: asked for (paper), or a text-only LM's own when its tokenizer has no
        # template (Vicuna, the LLM of LLaVA-1.5, is trained on exactly this conversation)
        return self.prompt_style == "paper" or (self.text_only and not getattr(self.tokenizer, "chat_template", None))

    def prompt(self, text: str, n_images: int) -> str:
        if self._llava_v1():
            prompt = f"{LLAVA_V1_SYSTEM} USER: " + "<image>\n" * n_images + f"{text} ASSISTANT:"
            # as the paper's attention_utils.build_prompt strips it: the text removed, its separator kept
            return prompt.replace(LLAVA_V1_SYSTEM, "") if self.strip_system else prompt
        if self.text_only:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
            )
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
        return self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )

    @cached_property
    def end_of_turn(self) -> str:
        """What the conversation puts after an answer ("</s>", "<|im_end|>"), read off the chat template
        itself; the tokenizer's EOS where the template writes nothing."""
        eos = self.tokenizer.eos_token or ""
        if self._llava_v1():
            return eos
        turn = [
            {"role": "user", "content": [{"type": "text", "text": "q"}]},
            {"role": "assistant", "content": [{"type": "text", "text": _SENTINEL}]},
        ]
        if self.text_only:
            turn = [{"role": "user", "content": "q"}, {"role": "assistant", "content": _SENTINEL}]
        try:
            text = self.processor.apply_chat_template(turn, tokenize=False)
        except Exception:  # templates that reject an assistant turn in this form
            return eos
        tail = text.rsplit(_SENTINEL, 1)[-1].rstrip() if _SENTINEL in text else ""
        return tail or eos


@contextmanager
def cpu_threads(n: int, device: torch.device) -> Iterator[None]:
    """torch's CPU thread count set to ``n`` for the block when ``device`` is the CPU (elsewhere left as it
    is: the threads then only feed the GPU), then restored. On the CPU a matmul's or a reduction's sum is
    split across threads, so two thread counts round differently: a training run, whose break-out is
    sensitive, can end elsewhere, and an evaluation's scores differ in their last bits. So ``train`` and
    ``eval`` take the count as part of their spec."""
    import torch

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str) -> torch.device:
    """``auto`` as the GPU when there is one, else the CPU; an unknown device is one SpatialgenError."""
    import re

    torch, _ = _require_eval_extra()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise SpatialgenError(f"--device must be auto, cpu, cuda, cuda:N or mps, got '{device}'")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SpatialgenError(f"--device {device}: no CUDA device is available")
        k = int(device.partition(":")[2] or 0)
        if k >= torch.cuda.device_count():
            raise SpatialgenError(f"--device {device}: there are {torch.cuda.device_count()} CUDA devices")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SpatialgenError("--device mps: no Apple GPU is available")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` as bfloat16 on a GPU and float32 on the CPU; else the named torch dtype."""
    torch, _ = _require_eval_extra()
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype not in table:
        raise SpatialgenError(f"--dtype must be auto, float32, bfloat16 or float16, got '{dtype}'")
    return table[dtype]


def known_arch(name: str) -> None:
    """``random:ARCH``: ARCH must be one of the architectures models/tiny.py builds."""
    from spatialgen.models import tiny

    if name[len(RANDOM) :] not in tiny.RANDOM_ARCHS:
        raise SpatialgenError(f"--model {name}: unknown architecture; choose one of {', '.join(tiny.RANDOM_ARCHS)}")


def check_loadable(name: str) -> None:
    """A cheap early check that ``name`` can be loaded (its config is found), before hours of other work."""
    if check(LOADERS, name).key != ANY:
        return
    _require_eval_extra()
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(name)
    except load_errors() as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SpatialgenError(
            f"model '{name}' could not be loaded: not a local folder, and not in the local "
            f"Hugging Face cache while the Hub is unreachable ({msg[:120]})"
        ) from None


def _check_style(image_mode: str | None, prompt_style: str) -> None:
    if image_mode is not None and image_mode not in IMAGE_MODES:
        raise SpatialgenError(f"--image-mode must be {' or '.join(IMAGE_MODES)}, got '{image_mode}'")
    if prompt_style not in PROMPT_STYLES:
        raise SpatialgenError(f"--prompt must be {' or '.join(PROMPT_STYLES)}, got '{prompt_style}'")


@dataclass
class Loaded:
    """What a loader gives: the model (on its device, in eval mode), its processor, its transformers family,
    and a converted checkpoint's sidecar (models/convert.py) when it has one."""

    model: Any
    processor: Any
    family: str
    sidecar: Any = None


def load_model(
    name: str,
    dtype: str = "auto",
    device: str = "auto",
    attn: str | None = None,
    image_mode: str | None = None,
    prompt_style: str = "default",
) -> VLM:
    """The model and its processor on ``device``. ``image_mode`` None means: a converted paper checkpoint's
    own (pad, from its sidecar), else the processor's center crop."""
    _check_style(image_mode, prompt_style)
    _torch, _transformers = _require_eval_extra()
    entry = check(LOADERS, name)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    got = entry.fn(name, dev, dt, attn)
    if prompt_style == "paper" and got.family not in ("llava", TEXT_FAMILY):
        raise SpatialgenError(f"--prompt paper is LLaVA-1.5's conversation; '{name}' is a {got.family} model")
    meta = got.sidecar
    return VLM(
        name,
        got.model,
        got.processor,
        got.family,
        dev,
        dt,
        image_mode=image_mode or (meta.image_mode if meta else "crop"),
        prompt_style=prompt_style,
        pool=meta.pool if meta else None,
    )


@loader(TINY_RANDOM, TINY_RANDOM)
def _tiny_random(name: str, dev, dt, attn: str | None) -> Loaded:
    from spatialgen.models import tiny

    model, processor = tiny.build()
    if attn:
        model.set_attn_implementation(attn)
    return Loaded(model.to(device=dev, dtype=dt), processor, "llava")


@loader(RANDOM, "random:ARCH", check=known_arch)
def _random_arch(name: str, dev, dt, attn: str | None) -> Loaded:
    from spatialgen.models import tiny

    model, processor = tiny.build_arch(name[len(RANDOM) :], dev, dt)
    if attn:
        model.set_attn_implementation(attn)
    return Loaded(model, processor, "llava")


def _unreachable(name: str, e: OSError) -> SpatialgenError:
    """A model that is neither a local folder nor in the cache while the Hub is out of reach, in one line."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return SpatialgenError(
        f"model '{shown(name)}' could not be loaded: not a local folder, and not in the local "
        f"Hugging Face cache while the Hub is unreachable ({shown(msg[:120])})"
    )


@loader(TEXT_LM, "text:MODEL, a plain causal LM for the text-only rows (text:tiny-random in-process)", text_only=True)
def _text_lm(name: str, dev, dt, attn: str | None) -> Loaded:
    """A causal LM without a vision tower (the paper's Vicuna baselines): a local folder or Hub id after the
    prefix, safetensors only; ``text:tiny-random`` is the tiny LLaVA's language model, built in-process."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = name[len(TEXT_LM) :]
    if path == TINY_RANDOM:
        from spatialgen.models import tiny

        model, tok = tiny.build_text()
        return Loaded(model.to(dev, dt).eval(), tok, TEXT_FAMILY)
    refuse_pickle_only(path)
    try:
        tok = AutoTokenizer.from_pretrained(path)
        kwargs = {"dtype": dt, "use_safetensors": True, **({"attn_implementation": attn} if attn else {})}
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs).to(dev).eval()
    except OSError as e:
        raise _unreachable(path, e) from None
    except (ValueError, *load_errors()) as e:
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise SpatialgenError(f"model '{shown(path)}' could not be loaded as a causal LM: {shown(msg)}") from None
    tok.padding_side = "left"
    if tok.pad_token is None:  # LLaMA's tokenizer has none: batches pad with EOS, masked out
        tok.pad_token = tok.eos_token
    return Loaded(model, tok, TEXT_FAMILY)


@loader(ANY, "a local folder or a Hub id")
def _transformers(name: str, dev, dt, attn: str | None) -> Loaded:
    """A llava-hf folder or Hub id (Llava's own class), any other image-text-to-text model through the Auto
    class; safetensors only (models/files.py); a spatialgen-converted checkpoint gets its hooks attached."""
    from transformers import AutoConfig, AutoModelForImageTextToText, LlavaForConditionalGeneration

    from spatialgen.models.convert import attach, read_sidecar

    refuse_pickle_only(name)
    try:
        cfg = AutoConfig.from_pretrained(name)
        processor = load_processor(name)
        cls = LlavaForConditionalGeneration if cfg.model_type == "llava" else AutoModelForImageTextToText
        kwargs = {"dtype": dt, "use_safetensors": True}
        if attn:
            kwargs["attn_implementation"] = attn
        model = cls.from_pretrained(name, **kwargs).to(dev).eval()
    except OSError as e:
        raise _unreachable(name, e) from None
    except ValueError as e:  # a folder whose config names no known architecture
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise SpatialgenError(f"model '{shown(name)}' could not be loaded: {shown(msg)}") from None
    except load_errors() as e:
        raise SpatialgenError(
            f"model '{shown(name)}' could not be loaded: its files are damaged ({type(e).__name__})"
        ) from None
    tok = getattr(processor, "tokenizer", None)
    if tok is not None:
        tok.padding_side = "left"
    meta = read_sidecar(Path(name))  # a model converted from the original LLaVA layout by spatialgen
    if meta is not None:
        attach(model, Path(name), meta)
    return Loaded(model, processor, cfg.model_type, meta)


def text_only(name: str) -> bool:
    """Whether ``name`` loads a language model without a vision tower (``text:MODEL``), asked by the registry."""
    return find(LOADERS, name).text_only
