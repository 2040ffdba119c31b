"""`writersroom model check`: what the configured model is and how fast it runs here.

The report is a plain dataclass, the same shape whatever serves the model, so a check of a
served model (an OpenAI-compatible server) can fill it too: fields a backend cannot know are
None and the command line says so instead of guessing.

Every figure is read from llama.cpp itself: the GGUF's metadata for the template, the trained
context and the block count; llama.cpp's own log of where it put each layer for the GPU
offload; a real generation through the engine the room uses for the speeds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agents.llm.base import GenerationStats, TextRequest
from agents.llm.llama import Generation, LlamaEngine
from agents.llm.served import ServedBackend
from agents.prompts import Prompts

SPEED_TOKENS = 64
# Known template families, by a marker their Jinja text always contains.
_TEMPLATES = (
    ("<|im_start|>", "ChatML"),
    ("<|start_header_id|>", "Llama 3"),
    ("[INST]", "Mistral [INST]"),
    ("<start_of_turn>", "Gemma"),
    ("<|user|>", "Phi-3 / Zephyr"),
)
_LAYER = re.compile(r"layer\s+(\d+) assigned to device (\S+?),")


@dataclass(frozen=True)
class Offload:
    supported: bool | None  # does this build offload to a GPU at all (None: cannot tell)
    layers_on_gpu: int | None  # None: the backend did not say
    layers: int | None  # the model's block count
    requested: int | None  # WR_N_GPU_LAYERS (-1: all)


@dataclass(frozen=True)
class Speed:
    prompt_tokens: int
    prompt_s: float
    generated_tokens: int
    decode_s: float

    @classmethod
    def of(cls, stats: GenerationStats) -> Speed:
        """The figures of one generation: the prompt part not reused from the cache, timed
        from leaving the queue to the first token; the decode, first token to last."""
        return cls(
            prompt_tokens=stats.prompt_tokens - stats.reused_tokens,
            prompt_s=max(stats.ttft_s - stats.queue_s, 0.0),
            generated_tokens=stats.generated_tokens,
            decode_s=stats.decode_s,
        )

    @property
    def prompt_tps(self) -> float:
        return self.prompt_tokens / self.prompt_s if self.prompt_s > 0 else 0.0

    @property
    def decode_tps(self) -> float:
        # from the first token to the last: n - 1 intervals
        return (self.generated_tokens - 1) / self.decode_s if self.decode_s > 0 else 0.0


@dataclass(frozen=True)
class ModelCheck:
    model: str  # the file (or a server's model name)
    size_bytes: int | None
    backend: str  # what runs it, in words
    instruct: bool
    template: str  # a sentence: where the chat template comes from
    trained_ctx: int | None
    configured_ctx: int
    offload: Offload
    speed: Speed
    threads: int | None
    ctx_source: str = "WR_N_CTX"  # where configured_ctx comes from, in words


def gpu_offload_supported() -> bool:
    """Was this llama-cpp-python built with a GPU backend (CUDA, Metal, ...)?"""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


@contextmanager
def llama_log_lines() -> Iterator[list[str]]:
    """Collect what llama.cpp logs meanwhile (the engine routes it to the 'llama.cpp'
    logger at debug level), without printing it unless -v asked for it."""
    logger = logging.getLogger("llama.cpp")
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect(logging.DEBUG)
    level, propagate = logger.level, logger.propagate
    if not logger.isEnabledFor(logging.DEBUG):  # not -v: collect quietly
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def layers_on_gpu(log: list[str], blocks: int | None) -> int | None:
    """How many of the model's blocks llama.cpp placed on a device other than the CPU, from
    its 'layer N assigned to device X' lines; None when it logged none."""
    placed = {int(m.group(1)): m.group(2) for line in log if (m := _LAYER.search(line))}
    if not placed:
        return None
    repeating = [i for i in placed if blocks is None or i < blocks]  # not the output layer
    return sum(1 for i in repeating if not placed[i].upper().startswith("CPU"))


def template_sentence(template: str | None, chat_format: str | None) -> str:
    """Where the chat prompt's format comes from, as the engine decides it (a template in the
    file wins unless WR_CHAT_FORMAT is set; with neither, chatml)."""
    if template:
        named = next((name for marker, name in _TEMPLATES if marker in template), None)
        first = next((ln.strip() for ln in template.splitlines() if ln.strip()), "")
        first = first if len(first) <= 60 else first[:57] + "..."
        what = f"{named} (first line: {first})" if named else f"first line: {first}"
        if chat_format:
            return f"in the file, {what}; not used: WR_CHAT_FORMAT={chat_format} is"
        return f"in the file: {what}"
    if chat_format:
        return f"none in the file; using chat format {chat_format}"
    return "none in the file; using chat format chatml (the default; set WR_CHAT_FORMAT)"


async def measure_speed(engine: LlamaEngine, tokens: int = SPEED_TOKENS) -> Speed:
    """Prompt and decode speed of one real generation through the room's own engine, after
    a short warm-up (the first evaluation allocates buffers)."""
    passage = Prompts().render("model_check")
    await engine.complete(Generation(prompt="Warm-up.", max_tokens=2, temperature=0.0))
    done = await engine.complete(
        Generation(prompt=passage, max_tokens=tokens, temperature=0.0, deadline_s=600)
    )
    return Speed.of(done.stats)


async def check_llama(
    open_engine: Callable[[], LlamaEngine],
    configured_ctx: int,
    requested_gpu_layers: int,
    tokens: int = SPEED_TOKENS,
) -> ModelCheck:
    """Load the model as the room does (``open_engine``) and measure it."""
    with llama_log_lines() as log:
        engine = open_engine()
    try:
        meta: dict[str, Any] = dict(engine.llama.metadata)
        arch = meta.get("general.architecture", "")
        blocks = _int(meta.get(f"{arch}.block_count"))
        supported = gpu_offload_supported()
        speed = await measure_speed(engine, tokens)
        path = engine.model_path
        return ModelCheck(
            model=str(path.absolute()),
            size_bytes=path.stat().st_size,
            backend="llama.cpp in process (llama-cpp-python)",
            instruct=engine.is_instruct,
            template=template_sentence(meta.get("tokenizer.chat_template"), engine.chat_format),
            trained_ctx=_int(meta.get(f"{arch}.context_length")),
            configured_ctx=configured_ctx,
            offload=Offload(
                supported=supported,
                layers_on_gpu=layers_on_gpu(log, blocks) if supported else 0,
                layers=blocks,
                requested=requested_gpu_layers,
            ),
            speed=speed,
            threads=engine.n_threads,
        )
    finally:
        engine.close()


def server_template_sentence(template: str | None) -> str:
    """The server's chat template in words: a built-in one by name (llama-server with
    --chat-template NAME reports just the name), else as a file's template is described."""
    if not template:
        return "the server's own (it does not say which)"
    if "{" not in template and len(template.split()) == 1:
        return f"the server's built-in '{template}'"
    return template_sentence(template, None).replace("in the file", "the server's")


async def check_served(backend: ServedBackend, tokens: int = SPEED_TOKENS) -> ModelCheck:
    """A model server as the room sees it: what it serves, its window, its template, and
    the speed of one real streamed answer from here (network included). Where a model's
    layers sit is the server's business: it does not say, and neither do we."""
    facts = backend.facts or backend.connect()
    passage = Prompts().render("model_check")
    warm = TextRequest(messages=({"role": "user", "content": "Warm-up."},), max_tokens=2)
    async for _ in backend.stream(warm):
        pass
    stats = GenerationStats()
    ask = ({"role": "user", "content": passage},)
    request = TextRequest(messages=ask, max_tokens=tokens, temperature=0.0, deadline_s=600)
    async for _ in backend.stream(request, stats):
        pass
    slots = f", {facts.slots} parallel slots" if facts.slots else ""
    template = server_template_sentence(facts.chat_template)
    return ModelCheck(
        model=facts.model,
        size_bytes=None,
        backend=f"an OpenAI-compatible server at {backend.host}{slots}; JSON schemas "
        f"as {backend.schema_dialect}",
        instruct=backend.is_instruct,
        template=template,
        trained_ctx=None,
        configured_ctx=backend.n_ctx,
        offload=Offload(supported=None, layers_on_gpu=None, layers=None, requested=None),
        speed=Speed.of(stats),
        threads=None,
        ctx_source="the server's window per request" if facts.n_ctx else "WR_N_CTX",
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
