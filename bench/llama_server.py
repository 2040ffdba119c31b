"""A real llama.cpp ``llama-server`` on loopback, serving the bundled GGUF, for the served
backend's tests and benchmarks.

The binary is built by ``make install`` (scripts/build-llama-server.sh) into the venv's bin.
The bundled Gemma 3 270M carries no chat template, so the server is told to use llama.cpp's
built-in gemma template, as the in-process engine is.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

API_KEY = "sk-test-4b1d9c0e7f"  # a key the logs and replies are checked for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llama_server_binary() -> Path:
    found = shutil.which("llama-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "llama-server"
    )
    if found is None:
        raise FileNotFoundError(
            "llama-server is not built; run `make install` (scripts/build-llama-server.sh)"
        )
    return Path(found)


@dataclass
class LlamaServer:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: the server gone mid-answer, no goodbye on its sockets."""
        self.proc.kill()
        self.proc.wait()


def start_llama_server(
    model: Path,
    log: Path,
    *,
    slots: int = 4,
    ctx_per_slot: int = 4096,
    api_key: str | None = API_KEY,
    threads: int | None = None,
    port: int | None = None,
    gpu_layers: int = 0,
    chat_template: str | None = "gemma",
) -> LlamaServer:
    """Start the server and wait until /health says the model is loaded."""
    port = port or free_port()
    args = [
        str(llama_server_binary()),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",  # the default port changed between versions: always pass it
        str(port),
        "--parallel",
        str(slots),
        "--ctx-size",  # the total, shared by the slots
        str(slots * ctx_per_slot),
        "--n-gpu-layers",
        str(gpu_layers),
        "--seed",
        "1234",
        "--no-webui",
    ]
    if chat_template:  # the bundled model has none of its own
        # A built-in template by name needs --no-jinja: with Jinja on (the default now) the
        # name itself is taken for a template, and every prompt becomes the word "gemma".
        args += ["--no-jinja", "--chat-template", chat_template]
    if threads:
        args += ["--threads", str(threads), "--threads-batch", str(threads)]
    if api_key:
        args += ["--api-key", api_key]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(proc, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama-server exited at start:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"llama-server did not become healthy in 60 s:\n{log.read_text()[-3000:]}")
