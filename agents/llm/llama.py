"""The local model backend: llama-cpp-python in process, one worker thread, streamed and
bounded.

Everything that touches the llama.cpp context runs on the scheduler's thread, so the event
loop never blocks and no two requests share the context at once. Each request carries a
deadline (queue time included) and is cancelled when its caller goes away. The KV cache keeps
the last prompt: a follow-up in the same thread re-evaluates only what is new.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import Cancelled, ContextOverflow, DeadlineExceeded, ModelUnavailable, RoomError
from agents.llm.base import Completion, GenerationStats, StructuredRequest, T, TextRequest
from agents.llm.prompt import Prompt, as_prompt, templated
from agents.llm.sampling import GrammarError, TokenSampler
from agents.llm.scheduler import FairScheduler
from agents.llm.structured import validated

log = logging.getLogger(__name__)
_GRACE_S = 2.0


STRUCTURED_ATTEMPTS = 3
STRUCTURED_REPEAT_PENALTY = 1.15


@lru_cache(maxsize=64)
def grammar_for(schema_json: str) -> str:
    """A JSON schema as a GBNF grammar; key order is the order the model writes."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema_json)


def reference_grammar(gbnf: str) -> Any:
    """llama-cpp-python's own grammar object, for benchmarks that compare against it."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


@dataclass(frozen=True)
class Generation:
    """One request as this engine runs it: a formatted prompt, and optionally a grammar. A
    bare string is a completion prompt and is tokenized as plain text throughout."""

    prompt: Prompt | str
    lane: str = "default"
    max_tokens: int = 256
    temperature: float = 0.7
    grammar: str | None = None
    deadline_s: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repeat_penalty: float = 1.0


def common_prefix(a: np.ndarray, b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.nonzero(a[:n] != np.asarray(b[:n], dtype=a.dtype))[0]
    return int(diff[0]) if len(diff) else n


class _StopFilter:
    """Cuts the stream at a stop string, holding back text that may be the start of one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if not self._stops:
            return piece
        text = self._held + piece
        for stop in self._stops:
            at = text.find(stop)
            if at >= 0:
                self.stopped = True
                self._held = ""
                return text[:at]
        keep = max((len(s) - 1 for s in self._stops), default=0)
        safe = len(text)
        for i in range(max(0, len(text) - keep), len(text)):
            if any(s.startswith(text[i:]) for s in self._stops):
                safe = i
                break
        self._held = text[safe:]
        return text[:safe]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


class LlamaEngine:
    def __init__(
        self,
        model_path: Path,
        *,
        chat_format: str | None,
        n_ctx: int,
        n_batch: int,
        n_gpu_layers: int,
        n_threads: int | None,
        seed: int,
        deadline_s: float,
        model_kind: str = "auto",
        max_queue: int | None = None,
    ) -> None:
        self.model_path = model_path
        self._model_kind = model_kind
        self._chat_format = chat_format
        self._n_ctx = n_ctx
        self._n_batch = n_batch
        self._n_gpu_layers = n_gpu_layers
        # llama-cpp-python defaults to half the cores; decode is memory-bound, use them all.
        self._n_threads = n_threads or os.cpu_count() or 1
        self._seed = seed
        self.deadline_s = deadline_s
        self._llama: Any = None
        self._formatter: Callable[[list[dict[str, str]]], str] | None = None
        self._load_lock = threading.Lock()
        self._scheduler = FairScheduler(limit=max_queue)
        # The last structured request, for benchmarks and logs.
        self.last_structured_prompt = ""
        self.last_structured_stats: GenerationStats | None = None

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama

                _route_llama_logs()

                try:
                    self._llama = Llama(
                        model_path=str(self.model_path),
                        n_ctx=self._n_ctx,
                        n_batch=self._n_batch,
                        n_ubatch=self._n_batch,
                        n_gpu_layers=self._n_gpu_layers,
                        n_threads=self._n_threads,
                        n_threads_batch=self._n_threads,
                        seed=self._seed,
                        verbose=False,
                    )
                except (ValueError, RuntimeError, OSError) as exc:
                    raise ModelUnavailable(
                        f"The model at {self.model_path} could not be loaded ({exc}). Check "
                        "that WR_MODEL_PATH points at a GGUF file and that it fits in memory."
                    ) from exc
                self._formatter = self._make_formatter(self._llama)
            return self._llama

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def chat_format(self) -> str | None:
        """The chat format forced on the model (WR_CHAT_FORMAT, or the bundled model's);
        None: the GGUF's own template is used (``agents.llm.check`` reports which)."""
        return self._chat_format

    @property
    def n_threads(self) -> int:
        return self._n_threads

    @property
    def is_instruct(self) -> bool:
        """Was the model tuned to answer chat turns? A base model continues whatever text it
        is given, so it needs a completion-style prompt. 'auto' trusts the GGUF: instruct
        models ship a chat template in their metadata, base models do not."""
        if self._model_kind != "auto":
            return self._model_kind == "instruct"
        return bool(self.load().metadata.get("tokenizer.chat_template"))

    @property
    def llama(self) -> Any:
        """The loaded llama_cpp.Llama, for benchmarks that compare against a direct call."""
        return self.load()

    def _make_formatter(self, llama: Any) -> Callable[[list[dict[str, str]]], str]:
        from llama_cpp import llama_chat_format as fmt

        template = llama.metadata.get("tokenizer.chat_template")
        if template and not self._chat_format:
            eos = llama._model.token_get_text(llama.token_eos())
            bos = llama._model.token_get_text(llama.token_bos())
            jinja = fmt.Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
            # Where the tokenizer adds BOS itself, a template that writes it too would double
            # it; where it does not (ChatML models whose BOS is <|im_start|>), it must stay.
            adds_bos = bool(llama.tokenize(b"", add_bos=True, special=True))
            drop = bos if adds_bos else ""
            return lambda messages: jinja(messages=messages).prompt.removeprefix(drop)  # type: ignore[arg-type]
        name = (self._chat_format or "chatml").replace("-", "_")
        formatter = getattr(fmt, f"format_{name}", None) or getattr(
            fmt, f"format_{name.replace('_', '')}", None
        )
        if formatter is None:
            raise ModelUnavailable(f"Unknown chat format '{self._chat_format}' (WR_CHAT_FORMAT).")
        fold_system = name == "gemma"  # Gemma has no system role; it would be dropped.

        def render(messages: list[dict[str, str]]) -> str:
            if fold_system:
                messages = fold_system_into_first_user(messages)
            return str(formatter(messages=messages).prompt)

        return render

    def chat_prompt(self, messages: list[dict[str, str]]) -> Prompt:
        """The chat prompt with the messages' contents kept apart from the template's
        markup, so only the markup is tokenized with control tokens (agents.llm.prompt)."""
        self.load()
        assert self._formatter is not None
        return templated(self._formatter, messages)

    def tokens(self, prompt: Prompt | str, bos: bool = True) -> list[int]:
        """The prompt's tokens: control tokens only where the chat template wrote them.
        Tokenizing reads only the vocabulary, so it is safe off-worker."""
        llama = self.load()
        out: list[int] = llama.tokenize(b"", add_bos=True, special=True) if bos else []
        for text, template in as_prompt(prompt).parts:
            out += llama.tokenize(text.encode(), add_bos=False, special=template)
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens in untrusted text (a message, a bible section), counted as plain text."""
        return len(self.tokens(text, bos=False)) if text else 0

    # ---- the backend operations ----------------------------------------------------------
    def stream(
        self, request: TextRequest, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        return self.generate(self._generation(request), stats)

    async def produce(self, request: StructuredRequest[T]) -> T:
        """Grammar-constrained decoding (so the JSON always parses), validated; an invalid
        result is retried with the next seed."""
        gen = Generation(
            prompt=self.chat_prompt(list(request.messages)),
            lane=request.lane,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            grammar=grammar_for(json.dumps(request.schema)),
            repeat_penalty=STRUCTURED_REPEAT_PENALTY,
            deadline_s=request.deadline_s,
        )
        self.last_structured_prompt = as_prompt(gen.prompt).text

        async def attempt(n: int) -> Completion:
            completion = await self.complete(dataclasses.replace(gen, seed=self._seed + n))
            self.last_structured_stats = completion.stats
            return completion

        return await validated(request.what, STRUCTURED_ATTEMPTS, attempt, request.build)

    def _generation(self, request: TextRequest) -> Generation:
        prompt = (
            request.prompt
            if request.prompt is not None
            else self.chat_prompt(list(request.messages))
        )
        return Generation(
            prompt=prompt,
            lane=request.lane,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            deadline_s=request.deadline_s,
            stop=request.stop,
            seed=request.seed,
            repeat_penalty=request.repeat_penalty,
        )

    # ---- generation ----------------------------------------------------------------------
    async def generate(
        self, gen: Generation, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        """Yield text pieces as tokens arrive; raises RoomError subclasses on failure."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = threading.Event()
        stats = stats if stats is not None else GenerationStats()
        submitted = time.monotonic()
        stats.submitted_at = submitted
        budget = gen.deadline_s or self.deadline_s
        deadline = submitted + budget

        def emit(kind: str, payload: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))
            except RuntimeError:  # the caller's loop is gone; stop generating
                cancel.set()

        started = threading.Event()

        def job() -> None:
            started.set()
            self._run(gen, cancel, deadline, budget, emit, stats, submitted)

        self._scheduler.submit(gen.lane, job)
        try:
            while True:
                remaining = deadline - time.monotonic() + _GRACE_S
                try:
                    kind, payload = await asyncio.wait_for(queue.get(), timeout=max(remaining, 0))
                except TimeoutError:
                    queued = stats.queue_s if started.is_set() else time.monotonic() - submitted
                    raise DeadlineExceeded(budget, queued) from None
                if kind == "text":
                    yield payload
                elif kind == "done":
                    return
                else:
                    raise payload
        finally:
            cancel.set()

    async def complete(self, gen: Generation) -> Completion:
        stats = GenerationStats()
        parts = [piece async for piece in self.generate(gen, stats)]
        return Completion("".join(parts), stats)

    def _run(
        self,
        gen: Generation,
        cancel: threading.Event,
        deadline: float,
        budget: float,
        emit: Callable[[str, Any], None],
        stats: GenerationStats,
        submitted: float,
    ) -> None:
        def check() -> None:
            if cancel.is_set():
                raise Cancelled()
            if time.monotonic() > deadline:
                raise DeadlineExceeded(budget, stats.queue_s)

        sampler: TokenSampler | None = None
        try:
            stats.queue_s = time.monotonic() - submitted
            check()
            llama = self.load()
            import llama_cpp as C

            tokens = self.tokens(gen.prompt)
            stats.prompt_tokens = len(tokens)
            room = self._n_ctx - len(tokens)
            if room < 8:
                raise ContextOverflow(len(tokens) + gen.max_tokens, self._n_ctx)
            max_tokens = min(gen.max_tokens, room)
            reuse = min(common_prefix(llama.input_ids[: llama.n_tokens], tokens), len(tokens) - 1)
            stats.reused_tokens = reuse
            llama.n_tokens = reuse
            for start in range(reuse, len(tokens), self._n_batch):
                check()
                llama.eval(tokens[start : start + self._n_batch])
            vocab = C.llama_model_get_vocab(llama.model)
            sampler = TokenSampler(
                llama.ctx,
                vocab,
                llama.n_vocab(),
                temperature=gen.temperature,
                seed=self._seed if gen.seed is None else gen.seed,
                grammar=gen.grammar,
                repeat_penalty=gen.repeat_penalty,
            )
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            stop = _StopFilter(gen.stop)
            first = 0.0
            for _ in range(max_tokens):
                check()
                token = sampler.sample()
                if C.llama_vocab_is_eog(vocab, token):
                    break
                now = time.monotonic()
                if stats.generated_tokens == 0:
                    first = now
                    stats.ttft_s = now - submitted
                stats.generated_tokens += 1
                stats.decode_s = now - first
                text = stop.feed(decoder.decode(llama.detokenize([token], special=False)))
                if text:
                    emit("text", text)
                if stop.stopped:
                    break
                llama.eval([token])
            tail = stop.flush() + decoder.decode(b"", final=True)
            if tail:
                emit("text", tail)
            stats.grammar_fallbacks = sampler.grammar_fallbacks
            stats.full_vocab_fallbacks = sampler.full_vocab_fallbacks
            emit("done", None)
        except RoomError as exc:
            emit("error", exc)
        except GrammarError as exc:
            emit("error", RoomError(f"The model could not produce the requested format ({exc})."))
        except Exception as exc:  # keep the worker alive; tell the writer, log the detail
            log.exception("generation failed")
            emit("error", RoomError(f"The model failed while answering ({type(exc).__name__})."))
        finally:
            if sampler is not None:
                sampler.close()

    def close(self) -> None:
        self._scheduler.close()
        if self._llama is not None:
            self._llama.close()
            self._llama = None


_LOG_CALLBACK: Any = None


def _route_llama_logs() -> None:
    """Send llama.cpp's own log lines to Python logging ('llama.cpp' logger, -v shows them).

    llama-cpp-python prints some of them to stderr even with verbose=False, which clutters
    the terminal room and the stderr of `writersroom ask`.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes

    import llama_cpp as C

    llama_log = logging.getLogger("llama.cpp")

    @C.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", "replace").rstrip()
        if line:
            # ggml levels: 1 debug, 2 info, 3 warn, 4 error. Its warnings are advice for
            # llama.cpp developers (cache layouts and such), not for writers: keep them at debug.
            llama_log.log(logging.ERROR if level == 4 else logging.DEBUG, "%s", line)

    _LOG_CALLBACK = callback  # keep a reference: llama.cpp calls it from C
    C.llama_log_set(callback, ctypes.c_void_p(0))


def fold_system_into_first_user(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system:
        if rest and rest[0]["role"] == "user":
            rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
        else:
            rest.insert(0, {"role": "user", "content": system})
    return rest
