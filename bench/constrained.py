"""Constrained (JSON-schema grammar) decoding speed against free decoding, same prompt.

Prints tokens/s for: free decoding through the room's engine, constrained decoding through
the engine's sample-first sampler, and llama-cpp-python's own grammar path for reference,
with the constrained/free ratio (target >= 0.8). Run: python bench/constrained.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from agents.llm.llama import Generation, LlamaEngine, grammar_for, reference_grammar
from agents.llm.model_files import resolve_model
from agents.prompts import Prompts
from agents.schemas import logline_schema
from bench.common import bench_settings, fmt


async def run(
    rounds: int, max_tokens: int, reference: bool, penalty: float = 1.15
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp))
    path, chat_format = resolve_model(settings.model_path, settings.models_dir)
    engine = LlamaEngine(
        path,
        chat_format=settings.chat_format or chat_format,
        n_ctx=4096,
        n_batch=512,
        n_gpu_layers=settings.n_gpu_layers,
        n_threads=settings.n_threads,
        seed=7,
        deadline_s=600,
    )
    text = Prompts().render(
        "logline",
        n=3,
        show="lantern-line",
        canon="",
        premise="The ferry captain learns her nephew smuggles crates for the lighthouse keeper.",
    )
    prompt = engine.chat_prompt([{"role": "user", "content": text}])
    grammar = grammar_for(json.dumps(logline_schema(3, 120)))
    rates: dict[str, list[float]] = {"free": [], "constrained": [], "llama-cpp-python grammar": []}
    fallbacks: list[int] = []
    for r in range(rounds):
        for name, gram in (("free", None), ("constrained", grammar)):
            c = await engine.complete(
                Generation(
                    prompt=prompt,
                    max_tokens=max_tokens,
                    temperature=0.8,
                    grammar=gram,
                    seed=r,
                    repeat_penalty=penalty,
                )
            )
            rates[name].append(c.stats.tokens_per_s)
            if gram:
                fallbacks.append(c.stats.grammar_fallbacks)
        if reference:
            llama = engine.llama
            lg = reference_grammar(grammar)
            n, first, t_end = 0, 0.0, 0.0
            for _ in llama.create_completion(
                prompt.text,
                max_tokens=max_tokens,
                temperature=0.8,
                grammar=lg,
                stream=True,
                seed=r,
            ):
                n += 1
                t_end = time.perf_counter()
                first = first or t_end
            rates["llama-cpp-python grammar"].append((n - 1) / (t_end - first) if n > 1 else 0)
    engine.close()
    med = {k: statistics.median(v) for k, v in rates.items() if v}
    print(f"decode tokens/s, median of {rounds} rounds, {max_tokens} tokens max, same prompt:")
    for k, v in med.items():
        print(f"  {k:<28} {fmt(v)} tok/s")
    print(f"  grammar fallbacks per run  {statistics.median(fallbacks):.0f}")
    ratio = med["constrained"] / med["free"]
    print(f"constrained/free ratio: {ratio:.2f}  (target >= 0.80)")
    if "llama-cpp-python grammar" in med:
        print(f"llama-cpp-python grammar/free: {med['llama-cpp-python grammar'] / med['free']:.2f}")
    return {"ratio": ratio, **med}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--repeat-penalty", type=float, default=1.15, help="as the room uses")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.max_tokens, not args.no_reference, args.repeat_penalty))


if __name__ == "__main__":
    main()
