"""The room's overhead and prefix reuse, measured against direct llama-cpp-python calls.

1. `logline` through the room (retrieval, prompt, grammar, validation) against a direct
   llama-cpp-python streaming call with the same final prompt: time to first token and
   tokens/s, and their ratios (target: the room adds at most 10%).
2. A follow-up question in the same thread against the thread's first turn: time to first
   token (target: follow-up at most 0.1x, because the shared prefix is reused).
Both sides start from an empty KV cache where a cold start is what is being compared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agents.llm.llama import LlamaEngine
from agents.messages import Final
from bench.common import bench_settings, message
from bot.compose import App, build_app
from bot.settings import default_sample_bible

SHOW = "bench-show"


def llama_of(app: App) -> Any:
    """The llama_cpp.Llama under the room, for resets and the direct reference call."""
    engine = app.room.services.backend
    assert isinstance(engine, LlamaEngine)
    return engine.llama


async def room_logline(app: App, premise: str, thread: str) -> tuple[float, float, str]:
    engine = app.room.services.backend
    assert isinstance(engine, LlamaEngine)
    llama_of(app).reset()  # cold KV cache, as for the direct call
    start = time.monotonic()
    async for event in app.room.handle(message(f"/logline {premise} 2", thread, SHOW)):
        if isinstance(event, Final) and event.reply.kind == "error":
            raise SystemExit(f"room failed: {event.reply.text}")
    stats = engine.last_structured_stats
    assert stats is not None
    ttft = stats.submitted_at + stats.ttft_s - start
    return ttft, stats.tokens_per_s, engine.last_structured_prompt


def direct(app: App, prompt: str, max_tokens: int) -> tuple[float, float]:
    llama = llama_of(app)
    llama.reset()
    start = time.monotonic()
    first = last = 0.0
    n = 0
    for _ in llama.create_completion(
        prompt,
        max_tokens=max_tokens,
        temperature=0.8,
        top_k=40,
        top_p=0.95,
        min_p=0.0,
        repeat_penalty=1.15,
        stream=True,
    ):
        last = time.monotonic()
        first = first or last
        n += 1
    return first - start, (n - 1) / (last - first) if n > 1 else 0.0


async def follow_up(app: App, thread: str) -> tuple[float, float, int, int]:
    agent = app.room.services.agent
    llama_of(app).reset()
    ttfts = []
    prompt_tokens = reused = 0
    for text in ("Who is Maren Kessler?", "What does she want most?"):
        async for _ in app.room.handle(message(text, thread, SHOW)):
            pass
        stats = agent.last_stats
        assert stats is not None
        ttfts.append(stats.ttft_s)
        prompt_tokens, reused = stats.prompt_tokens, stats.reused_tokens
    return ttfts[0], ttfts[1], prompt_tokens, reused


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Follow-ups are timed on generated answers (a base model would otherwise extract).
        settings = bench_settings(Path(tmp), max_tokens=64, answer_mode="generate")
        app = build_app(settings)
        app.bible.ingest(default_sample_bible(), SHOW)
        premise = "Maren learns the Lamplighter is paying her nephew to carry crates"
        rows = []
        for r in range(rounds):
            ttft, tps, prompt = await room_logline(app, premise, f"log-{r}")
            d_ttft, d_tps = direct(app, prompt, 200)
            rows.append((ttft, tps, d_ttft, d_tps))
        ttft, tps, d_ttft, d_tps = (statistics.median(col) for col in zip(*rows, strict=True))
        print(f"logline, median of {rounds}: room vs direct llama-cpp-python, same final prompt")
        print(
            f"  time to first token  room {ttft * 1000:7.1f} ms   direct {d_ttft * 1000:7.1f} ms"
            f"   ratio {ttft / d_ttft:.2f}"
        )
        print(
            f"  decode tokens/s      room {tps:7.1f}      direct {d_tps:7.1f}"
            f"      ratio {tps / d_tps:.2f}  (room is JSON-constrained, direct is free text)"
        )
        follows = [await follow_up(app, f"thread-{r}") for r in range(rounds)]
        first, second, prompt_tokens, reused = (
            statistics.median(c) for c in zip(*follows, strict=True)
        )
        print("follow-up in the same thread vs its first turn (time to first token):")
        print(
            f"  first {first * 1000:7.1f} ms   follow-up {second * 1000:7.1f} ms   ratio "
            f"{second / first:.3f}  (target <= 0.1); follow-up reused {reused:.0f} of "
            f"{prompt_tokens:.0f} prompt tokens"
        )
        app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
