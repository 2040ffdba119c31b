"""Throughput with many writers at once: the in-process engine against llama-server.

1, 2, 4 and 8 simulated writers, each in its own channel, each asking for an answer of about
150 tokens at the same moment, through the model-backend seam the room uses:
  (a) the in-process llama.cpp engine (one request at a time, fair by channel);
  (b) llama.cpp's llama-server with 4 parallel slots on the same GGUF (WR_LLM_MAX_CONCURRENCY
      4), through the served backend;
  (c) the same server with 8 slots, to show what more slots buy time to first token.
Printed: aggregate tokens/s and p50/p95 time to first token, each as a ratio against one
writer on the in-process engine in the same run.

Targets on 2 cores: (b) aggregate at 4 writers >= 1.5x one writer; p95 time to first token
at 8 writers <= 4x one writer's. On a GPU: aggregate >= 3.5x at 8 writers, p95 TTFT <= 1 s.

    python -m bench.concurrency [--tokens 150] [--rounds 2] [--model PATH] [--gpu-layers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.llm.base import GenerationStats, ModelBackend, TextRequest
from agents.llm.llama import LlamaEngine
from agents.llm.model_files import BUNDLED_CHAT_FORMAT, assemble_bundled
from agents.llm.served import ServedBackend
from bench.llama_server import start_llama_server

WRITERS = (1, 2, 4, 8)


def fmt(ratio: float) -> str:
    return f"{ratio:.2f}x"


TOPICS = (
    "the lighthouse keeper's last night on the island",
    "a ferry that leaves without its captain",
    "the town meeting about the drowned quay",
    "a letter found inside the chapel bell",
    "two sisters who run the harbour cafe",
    "the fog that comes in every Thursday",
    "a storm that cuts the island off for a week",
    "the night the lamp went out",
)


@dataclass
class Round:
    writers: int
    wall_s: float
    tokens: int
    ttfts: list[float]

    @property
    def aggregate(self) -> float:
        return self.tokens / self.wall_s

    def ttft(self, q: float) -> float:
        ordered = sorted(self.ttfts)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def request(i: int, tokens: int) -> TextRequest:
    text = f"Write the opening of a TV scene about {TOPICS[i % len(TOPICS)]}. Be vivid."
    return TextRequest(
        messages=({"role": "user", "content": text},),
        lane=f"channel-{i}",
        max_tokens=tokens,
        temperature=0.8,
        seed=100 + i,
        deadline_s=600,
    )


async def one(backend: ModelBackend, req: TextRequest) -> GenerationStats:
    stats = GenerationStats()
    async for _ in backend.stream(req, stats):
        pass
    return stats


async def a_round(backend: ModelBackend, writers: int, tokens: int, base: int) -> Round:
    start = time.monotonic()
    done = await asyncio.gather(*(one(backend, request(base + i, tokens)) for i in range(writers)))
    wall = time.monotonic() - start
    return Round(writers, wall, sum(s.generated_tokens for s in done), [s.ttft_s for s in done])


def measure(backend: ModelBackend, tokens: int, rounds: int) -> dict[int, Round]:
    """Each writer count ``rounds`` times; the round with the median aggregate is kept."""
    asyncio.run(one(backend, request(99, 8)))  # warm up
    out: dict[int, Round] = {}
    for n in WRITERS:
        runs = [asyncio.run(a_round(backend, n, tokens, 10 * r)) for r in range(rounds)]
        out[n] = sorted(runs, key=lambda r: r.aggregate)[len(runs) // 2]
    return out


def report(name: str, results: dict[int, Round], ref: Round) -> None:
    """Each figure against one writer in process (``ref``); TTFT also against one writer on
    the same backend, which separates queueing from the fixed cost of the backend."""
    own = results[1]
    print(f"\n{name}")
    print("  writers  tokens/s (x in process)   TTFT p50   p95 (x in process, x one writer here)")
    for n, r in results.items():
        p50, p95 = r.ttft(0.5), r.ttft(0.95)
        print(
            f"  {n:>7}  {r.aggregate:8.1f} ({fmt(r.aggregate / ref.aggregate):>6})"
            f"      {p50:5.2f} s {p95:5.2f} s ({fmt(p95 / ref.ttft(0.95)):>7}, "
            f"{fmt(p95 / own.ttft(0.95)):>6})"
        )


def check(label: str, ok: bool) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=150, help="tokens per answer")
    parser.add_argument("--rounds", type=int, default=3, help="runs per writer count")
    parser.add_argument("--model", type=Path, help="a GGUF (default: the bundled model)")
    parser.add_argument("--gpu-layers", type=int, default=0, help="layers on the GPU")
    parser.add_argument("--gpu", action="store_true", help="check the GPU targets too")
    args = parser.parse_args(argv)
    threads = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or assemble_bundled(Path(tmp) / "models")
        print(f"model {model.name}, {threads} threads, {args.tokens} tokens per answer")
        engine = LlamaEngine(
            model,
            chat_format=None if args.model else BUNDLED_CHAT_FORMAT,
            n_ctx=2048,
            n_batch=512,
            n_gpu_layers=args.gpu_layers,
            n_threads=threads,
            seed=1,
            deadline_s=600,
        )
        try:
            local = measure(engine, args.tokens, args.rounds)
        finally:
            engine.close()
        ref = local[1]
        report("(a) in-process engine", local, ref)
        served: dict[int, dict[int, Round]] = {}
        for slots in (4, 8):
            server = start_llama_server(
                model,
                Path(tmp) / f"server-{slots}.log",
                slots=slots,
                ctx_per_slot=1024,
                api_key=None,
                threads=threads,
                gpu_layers=args.gpu_layers,
                chat_template=None if args.model else BUNDLED_CHAT_FORMAT,
            )
            backend = ServedBackend(server.base_url, concurrency=slots, deadline_s=600)
            try:
                backend.connect()
                served[slots] = measure(backend, args.tokens, args.rounds)
            finally:
                backend.close()
                server.stop()
            name = "b" if slots == 4 else "c"
            report(f"({name}) llama-server, {slots} parallel slots", served[slots], ref)
    four, eight = served[4], served[8]
    print("\ntargets (against one writer on the in-process engine)")
    ok = check(
        f"(b) aggregate at 4 writers >= 1.5x: {fmt(four[4].aggregate / ref.aggregate)}",
        four[4].aggregate >= 1.5 * ref.aggregate,
    )
    ok &= check(
        f"(b) p95 TTFT at 8 writers <= 4x: {fmt(four[8].ttft(0.95) / ref.ttft(0.95))} "
        "(with 4 slots, writers 5-8 wait for a whole answer)",
        four[8].ttft(0.95) <= 4 * ref.ttft(0.95),
    )
    check(
        f"(c) p95 TTFT at 8 writers, 8 slots <= 4x: {fmt(eight[8].ttft(0.95) / ref.ttft(0.95))}",
        eight[8].ttft(0.95) <= 4 * ref.ttft(0.95),
    )
    if args.gpu:
        ok &= check(
            f"GPU: aggregate at 8 writers >= 3.5x: {fmt(eight[8].aggregate / ref.aggregate)}",
            eight[8].aggregate >= 3.5 * ref.aggregate,
        )
        ok &= check(
            f"GPU: p95 TTFT at 8 writers <= 1 s: {eight[8].ttft(0.95):.2f} s",
            eight[8].ttft(0.95) <= 1.0,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
