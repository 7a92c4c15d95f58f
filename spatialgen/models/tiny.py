"""``--model tiny-random``: a tiny randomly initialized LLaVA built in-process from configs, with a locally
trained tokenizer and image processor. No download; what CI and smoke tests run.

The tokenizer tokenizes as LLaMA's does where it matters for scoring: SentencePiece-style "▁" word
boundaries with a "▁" prepended to the text, BOS first, and every digit its own token (LLaMA, Touvron et al. 2023,
section 2.1: "we split all numbers into individual digits"), so "10" is "▁", "1", "0" as in LLaVA-1.5."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from spatialgen.models.registry import TINY_INIT
from spatialgen.scenes.families import TEMPLATES
from spatialgen.scenes.vocab import COLORS, SHAPES

if TYPE_CHECKING:
    from transformers import LlavaConfig, LlavaProcessor, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}USER: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %} "
    "{% else %}ASSISTANT: {% for c in m['content'] %}{{ c['text'] }}{% endfor %}</s>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
IMAGE_SIZE, PATCH = 64, 16


def _corpus() -> list[str]:
    words = [
        *COLORS,
        *SHAPES,
        "yes",
        "no",
        "true",
        "false",
        "USER",
        "ASSISTANT",
        "Answer",
        "with",
        "the",
        "option",
        "letter",
        "one",
        "word",
        "number",
        "statement",
        "Scene",
        "caption",
        "image",
    ]
    text = " ".join(words + [t for ts in TEMPLATES.values() for t in ts])
    return [text, " ".join(str(i) for i in range(30)), "A. B. C. D. E. (A) (B) (C) (D)"] * 4


@lru_cache(maxsize=1)
def tokenizer() -> PreTrainedTokenizerFast:
    """A LLaMA-like tokenizer trained on the project's own words (digits split, BOS first), built offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<unk>", "<s>", "</s>", "<pad>", "<image>"],
        initial_alphabet=[*"▁\n", *(chr(c) for c in range(32, 127))],
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    # LLaMA's tokenizer starts every sequence with BOS (add_bos_token); diagnostics exclude it by that id.
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )
    fast.padding_side = "left"
    return fast


def _image_processor(size: int = IMAGE_SIZE):
    import transformers

    cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    return cls(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


# Architectures: "tiny" is what tests run; the full-size ones get random weights, for timing on a GPU
# (``--model random:NAME``). The text vocabulary defaults to the local tokenizer's.
VISION = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size", "patch_size")
TEXT = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")


def _arch(vision: tuple, projection: int, text: tuple, positions: int, **more_text: int) -> dict[str, dict]:
    """An architecture from its numbers, in the order of VISION and TEXT (CLIPVisionConfig / LlamaConfig keys)."""
    return {
        "vision": {**dict(zip(VISION, vision, strict=True)), "projection_dim": projection},
        "text": {**dict(zip(TEXT, text, strict=True)), **more_text, "max_position_embeddings": positions},
    }


ARCHS = {
    "tiny": _arch((32, 64, 3, 2, IMAGE_SIZE, PATCH), 32, (64, 128, 2, 4, 4), 2048),
    "llava-1.5-7b": _arch((1024, 4096, 24, 16, 336, 14), 768, (4096, 11008, 32, 32, 32), 4096, vocab_size=32064),
}
# The project's own small real model: trained from scratch by `spatialgen train --model tiny-init`, it learns
# the generated task on two CPU cores in minutes (64 px images, an 8 x 8 token grid).
ARCHS[TINY_INIT] = _arch((96, 192, 4, 4, 64, 8), 96, (128, 256, 3, 4, 4), 512)
RANDOM_ARCHS = tuple(ARCHS)  # random:tiny is a quick stand-in for timing scripts


def config(arch: str = "tiny") -> LlavaConfig:
    """The LlavaConfig of a named architecture (``tiny``, ``tiny-init``, ``llava-1.5-7b``) with the local tokenizer's
    ids."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    spec, tok = ARCHS[arch], tokenizer()
    text = {"vocab_size": len(tok), **spec["text"]}
    return LlavaConfig(
        vision_config=CLIPVisionConfig(**spec["vision"]),
        text_config=LlamaConfig(
            **text, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id
        ),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        pad_token_id=tok.pad_token_id,
    )


def build_arch(name: str, device="cpu", dtype=None, seed: int = 0) -> tuple[Any, Any]:
    """A randomly initialized model (built directly on ``device``) and a matching processor."""
    import torch
    from transformers import LlavaForConditionalGeneration

    vision = ARCHS[name]["vision"]
    torch.manual_seed(seed)
    # Built in its final dtype: a 7B model in float32 first would need twice the memory and time.
    default = torch.get_default_dtype()
    if dtype is not None:
        torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(config(name)).eval()
    finally:
        torch.set_default_dtype(default)
    return model, processor(vision["image_size"], vision["patch_size"])


def processor(image_size: int = IMAGE_SIZE, patch_size: int = PATCH) -> LlavaProcessor:
    """A LLaVA-1.5-style processor (CLIP resize + center crop, one CLS token) over the local tokenizer."""
    from transformers import LlavaProcessor

    return LlavaProcessor(
        image_processor=_image_processor(image_size),
        tokenizer=tokenizer(),
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )


def build(seed: int = 0) -> tuple[Any, Any]:
    """(model, processor) of ``--model tiny-random``: the same weights for the same seed."""
    return build_arch("tiny", seed=seed)


def build_text(seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer) of ``--model text:tiny-random``: the tiny architecture's language model alone, a
    LlamaForCausalLM, with the local tokenizer (for the text-only rows' tests)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    tok = tokenizer()
    tok.padding_side = "left"
    return LlamaForCausalLM(config("tiny").text_config).eval(), tok
