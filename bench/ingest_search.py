"""Bible ingest throughput and search latency at 1k and 10k chunks.

Builds a synthetic bible from the sample show's sentences (deterministic), ingests it through
the real path (parse, embed, Chroma upsert) and times searches with the query embedding
included. References in the same process: embedding alone, embedding with every text padded
to 256 tokens (what Chroma's built-in ONNX function does), and the bare Chroma query.
Targets: ingest >= 100 chunks/s; search p50 <= 10 ms at 10k.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import bench_settings
from bot.compose import open_bible
from bot.settings import default_sample_bible
from memory.bible import BibleStore

SECTIONS = ("Who they are", "What they want", "Secret", "History", "Voice")
QUERIES = (
    "who runs the ferry at night",
    "what happened at Drowned Quay",
    "the fog bell rule",
    "who is secretly smuggling",
    "where do the crew drink",
    "what does the harbour master want",
    "how does the captain talk",
    "the lighthouse signal pattern",
)


def sentences() -> list[str]:
    text = " ".join(p.read_text() for p in default_sample_bible().rglob("*.md"))
    text = re.sub(r"---.*?---", " ", text, flags=re.S)
    text = re.sub(r"^#+ .*$", " ", text, flags=re.M)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 4]


def write_corpus(directory: Path, chunks: int, rng: random.Random) -> None:
    pool = sentences()
    for i in range(chunks // len(SECTIONS)):
        body = [f"---\ntype: character\nname: Person {i}\naliases: [P{i}]\n---\n# Person {i}\n"]
        for section in SECTIONS:
            body.append(f"## {section}\n" + " ".join(rng.sample(pool, rng.randint(2, 5))) + "\n")
        (directory / f"person_{i:05d}.md").write_text("\n".join(body))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure(bible: BibleStore, show: str, rounds: int) -> tuple[list[float], list[float]]:
    bible.search(show, "warm up")
    full, bare = [], []
    collection = bible._collection(show)
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            bible.search(show, q, k=5)
            full.append((time.perf_counter() - t) * 1000)
            vec = bible._embedder.embed([q])[0].tolist()
            t = time.perf_counter()
            collection.query(query_embeddings=[vec], n_results=5)
            bare.append((time.perf_counter() - t) * 1000)
    return full, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp))
        bible = open_bible(settings)
        texts = [" ".join(rng.sample(sentences(), 3)) for _ in range(512)]
        t = time.perf_counter()
        bible._embedder.embed(texts)
        ours = len(texts) / (time.perf_counter() - t)
        print(f"embedding alone, batch padded to its longest text: {ours:7.1f} texts/s")
        tokenizer = bible._embedder._tokenizer  # type: ignore[attr-defined]
        tokenizer.enable_padding(length=256)
        t = time.perf_counter()
        bible._embedder.embed(texts[:128])
        fixed = 128 / (time.perf_counter() - t)
        tokenizer.no_padding()
        print(f"embedding alone, every text padded to 256 (ref):   {fixed:7.1f} texts/s")
        for size in (int(s) for s in args.sizes.split(",")):
            corpus = Path(tmp) / f"bible{size}"
            corpus.mkdir()
            write_corpus(corpus, size, rng)
            show = f"bench-{size}"
            t = time.perf_counter()
            report = bible.ingest(corpus, show)
            elapsed = time.perf_counter() - t
            rate = report.chunks / elapsed
            texts = [c.embed_text for c in bible._show_cache(show).chunks.values()]
            tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
            print(
                f"ingest {report.chunks} chunks: {elapsed:6.1f} s = {rate:6.1f} chunks/s "
                f"({tokens / elapsed:,.0f} tokens/s, {tokens / len(texts):.0f} tokens a chunk) "
                "incl. parsing, embedding, Chroma (target >= 100 chunks/s)"
            )
            full, bare = measure(bible, show, args.rounds)
            print(
                f"search at {report.chunks} chunks, query embedding included: "
                f"p50 {statistics.median(full):5.1f} ms, p95 {percentile(full, 95):5.1f} ms "
                f"(target p50 <= 10 ms at 10k); bare Chroma query (ref): "
                f"p50 {statistics.median(bare):5.1f} ms"
            )


if __name__ == "__main__":
    main()
