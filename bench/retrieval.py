"""Retrieval quality on the sample show: recall@5 over writer-phrased questions.

The question set (bench/retrieval_questions.yaml) was written before any tuning. Prints the
hybrid search's recall@5 (target 0.95) and, as the in-process reference, dense-only recall.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from bench.common import bench_settings
from bot.compose import open_bible
from bot.settings import default_sample_bible

QUESTIONS = Path(__file__).with_name("retrieval_questions.yaml")


def main(k: int = 5) -> float:
    questions = yaml.safe_load(QUESTIONS.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp))
        bible = open_bible(settings)
        bible.ingest(default_sample_bible(), "bench-show")
        collection = bible._collection("bench-show")
        hybrid_hits = dense_hits = 0
        misses = []
        for item in questions:
            wanted = set(item["files"])
            got = {h.chunk.file for h in bible.search("bench-show", item["q"], k=k)}
            qvec = bible._embedder.embed([item["q"]])[0].tolist()
            dense = collection.query(query_embeddings=[qvec], n_results=k, include=["metadatas"])
            dense_files = {m["file"] for m in dense["metadatas"][0]}
            hybrid_hits += bool(wanted & got)
            dense_hits += bool(wanted & dense_files)
            if not wanted & got:
                misses.append(item["q"])
    n = len(questions)
    print(f"retrieval on {n} questions, recall@{k}:")
    print(f"  hybrid (dense + BM25 + names)  {hybrid_hits / n:.3f}  (target >= 0.95)")
    print(f"  dense only (reference)         {dense_hits / n:.3f}")
    for q in misses:
        print(f"  missed: {q}")
    return hybrid_hits / n


if __name__ == "__main__":
    main()
