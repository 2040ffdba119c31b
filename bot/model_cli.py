"""`writersroom model list | pull NAME | check`: choose, download and check a model.

Rendering only: the catalogue, the download and the check live in ``agents.llm`` and are
wired from settings in ``bot.compose``. Tables are plain text in fixed columns, so they read
the same in a terminal, a pipe and a test.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from agents.llm.catalogue import MEMORY_CONTEXT, RUNTIME_OVERHEAD, Catalogue
from agents.llm.check import ModelCheck
from agents.llm.download import Pulled, quiet_library_logs
from bot import compose
from bot.progress import progress_bars
from bot.settings import Settings

EXIT_OK = 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    model = sub.add_parser("model", help="choose, download and check the model")
    msub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="recommended instruct models, with sizes, memory and licences")
    pull = msub.add_parser(
        "pull",
        help="download a model from the list into the data dir (the only command that "
        "downloads anything)",
    )
    pull.add_argument("name", help="a name from `writersroom model list`, like qwen2.5-7b")
    check = msub.add_parser(
        "check", help="load the configured model and report its template, context, GPU, speed"
    )
    check.add_argument(
        "--tokens", type=int, default=64, help="tokens to generate for the speed figure"
    )


def run(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    if args.model_command == "list":
        out.print(escape(catalogue_table(compose.model_catalogue(settings))), soft_wrap=True)
        return EXIT_OK
    if args.model_command == "pull":
        compose.model_catalogue(settings).get(args.name)  # an unknown name: before any bar
        if not args.verbose:  # -v shows huggingface_hub's own warnings
            quiet_library_logs()
        with progress_bars(err, enabled=err.is_terminal) as progress:
            pulled = compose.pull_model(settings, args.name, progress)
        err.print(escape(pull_summary(pulled)))
        out.print(escape(f"WR_MODEL_PATH={pulled.path.absolute()}"), soft_wrap=True)
        err.print("Add that line to .env (or the environment) to run the room on it.")
        return EXIT_OK
    with progress_bars(err, enabled=err.is_terminal) as progress:
        check = asyncio.run(compose.check_model(settings, progress, max(2, args.tokens)))
    out.print(escape(check_report(check)), soft_wrap=True)
    return EXIT_OK


def gb(size: int) -> str:
    """Decimal units, as the hub shows file sizes."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.1f} kB"


def columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def catalogue_table(catalogue: Catalogue) -> str:
    rows = [["NAME", "FOR", "PARAMS", "FILE", "MEMORY", "LICENCE", "HUGGING FACE REPO"]]
    rows += [
        [m.name, m.target, m.parameters, gb(m.size), gb(m.memory_bytes()), m.licence, m.repo]
        for m in catalogue.models
    ]
    notes = [f"  {m.name}: {m.chat}" for m in catalogue.models if m.chat]
    return "\n".join(
        [
            columns(rows),
            "",
            f"MEMORY is the file, plus the KV cache for {MEMORY_CONTEXT:,} tokens of context "
            "(WR_N_CTX; 2 bytes x 2 (K and V) x layers x KV heads x head size per token), plus "
            f"{RUNTIME_OVERHEAD / 2**30:.0f} GiB for llama.cpp's buffers.",
            "GPU: a CUDA build of llama-cpp-python (README, 'A real model on a GPU') and "
            "WR_N_GPU_LAYERS=-1 (every layer on the GPU); MEMORY is GPU memory.",
            "CPU only: WR_N_GPU_LAYERS=0 and a CPU model; MEMORY is RAM; WR_N_THREADS = the "
            "machine's physical cores.",
            "Download one: writersroom model pull NAME (from huggingface.co, or HF_ENDPOINT); "
            "then writersroom model check.",
            "",
            "Chat notes:",
            *notes,
        ]
    )


def pull_summary(pulled: Pulled) -> str:
    against = (
        "the sha256 the catalogue pins"
        if pulled.checked_against == "catalogue"
        else "the sha256 the hub reports (the catalogue pins none)"
    )
    size = gb(pulled.path.stat().st_size)
    if not pulled.downloaded:
        return f"Already here: {pulled.path} ({size}) matches {against}; nothing was downloaded."
    replaced = " It replaced a file of that name that failed the check." if pulled.replaced else ""
    return f"Downloaded {pulled.path} ({size}); it matches {against}.{replaced}"


def check_report(check: ModelCheck) -> str:
    size = f" ({gb(check.size_bytes)})" if check.size_bytes else ""
    trained = f"trained {check.trained_ctx:,} tokens" if check.trained_ctx else "trained: unknown"
    context = f"{trained}; {check.ctx_source} {check.configured_ctx:,}"
    if check.trained_ctx and check.configured_ctx > check.trained_ctx:
        context += " (more than it was trained on: answers may degrade past that)"
    s = check.speed
    decode = (
        f"decode {s.decode_tps:.1f} tokens/s ({s.generated_tokens} tokens)"
        if s.generated_tokens > 1
        else "decode: not measured (the model stopped at once)"
    )
    threads = (
        f", {check.threads} thread{'s' if check.threads != 1 else ''}" if check.threads else ""
    )
    rows = [
        ["model", check.model + size],
        ["runs in", check.backend],
        ["kind", "instruct" if check.instruct else "base (continues text)"],
        ["chat template", check.template],
        ["context", context],
        ["GPU offload", offload_line(check)],
        ["speed", f"prompt {s.prompt_tps:.1f} tokens/s ({s.prompt_tokens} tokens); {decode}"],
    ]
    rows[-1][1] += threads
    return columns(rows)


def offload_line(check: ModelCheck) -> str:
    o = check.offload
    of = f" of {o.layers}" if o.layers is not None else ""
    asked = f" (WR_N_GPU_LAYERS={o.requested})" if o.requested is not None else ""
    if o.supported is False:
        return f"no (this llama-cpp-python was built for CPU): 0{of} layers on a GPU"
    if o.supported is None:
        return "unknown (the model server does not say; its own log does)"
    if o.layers_on_gpu is None:
        return f"supported by this build; llama.cpp did not report where the layers went{asked}"
    if o.layers_on_gpu == 0:
        return f"no: 0{of} layers on the GPU{asked}"
    full = o.layers is not None and o.layers_on_gpu >= o.layers
    return f"{'yes' if full else 'partly'}: {o.layers_on_gpu}{of} layers on the GPU{asked}"
