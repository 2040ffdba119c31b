"""`writersroom model list | pull | check`, run as a writer runs them: the real command in a
subprocess (huggingface_hub reads HF_ENDPOINT when it is imported), the real huggingface_hub
against a fake hub on loopback (tests/hub_fake.py), the real llama.cpp on the bundled model.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.llm.catalogue import load_catalogue
from agents.llm.check import gpu_offload_supported
from tests.conftest import REPO, free_port
from tests.hub_fake import FakeHub, Mode, fake_hub

REPO_ID = "wr-test/tiny-GGUF"
FILE = "tiny.gguf"
TOKEN = "hf_TESTtoken0123456789secret"
BODY = random.Random(7).randbytes(300_000)


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    """The machine's environment without any WR_ or HF_ settings of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WR_", "HF_"))}
    env.update(
        WR_DATA_DIR=str(tmp / "data"),
        HF_HOME=str(tmp / "hf-home"),  # the hub cache huggingface_hub would use
        HF_HUB_DISABLE_TELEMETRY="1",
        **extra,
    )
    return env


def writersroom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def catalogue(tmp: Path, sha256: str | None) -> Path:
    path = tmp / "catalogue.yaml"
    path.write_text(
        "models:\n"
        "  - name: tiny\n"
        "    title: Tiny test model\n"
        "    for: CPU\n"
        "    parameters: 1M\n"
        f"    repo: {REPO_ID}\n"
        f"    filename: {FILE}\n"
        f"    size: {len(BODY)}\n"
        f"    sha256: {sha256 or 'null'}\n"
        "    licence: Apache-2.0\n"
        "    kv: {layers: 2, heads: 1, head_dim: 8}\n"
        "    chat: a test file, not a model\n"
    )
    return path


def everything_under(folder: Path) -> set[str]:
    """Every file and folder, hidden ones included."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


@pytest.fixture
def hub(request: pytest.FixtureRequest) -> Iterator[FakeHub]:
    mode: Mode = getattr(request, "param", "ok")
    with fake_hub(FakeHub(REPO_ID, FILE, BODY, mode=mode)) as running:
        yield running


def pull_env(tmp: Path, hub: FakeHub, pinned: bool = True) -> dict[str, str]:
    return environment(
        tmp,
        HF_ENDPOINT=hub.endpoint,
        HF_TOKEN=TOKEN,
        WR_MODEL_CATALOGUE=str(catalogue(tmp, hub.sha256 if pinned else None)),
        TTY_COMPATIBLE="1",  # draw the progress bars although stderr is a pipe
        NO_COLOR="1",
    )


def assert_no_token(done: subprocess.CompletedProcess[str]) -> None:
    assert TOKEN not in done.stdout + done.stderr


# ---- pull ----------------------------------------------------------------------------------
def test_pull_downloads_checks_places_and_prints_the_setting(tmp_path: Path, hub: FakeHub) -> None:
    env = pull_env(tmp_path, hub)
    done = writersroom(env, "model", "pull", "tiny")
    assert done.returncode == 0, done.stderr
    target = tmp_path / "data" / "models" / FILE
    assert target.read_bytes() == BODY
    assert done.stdout.strip() == f"WR_MODEL_PATH={target}"
    assert "downloading tiny.gguf" in done.stderr and "300.0/300.0 kB" in done.stderr
    assert "checking sha256" in done.stderr
    assert "matches the sha256 the catalogue pins" in done.stderr
    assert everything_under(tmp_path / "data" / "models") == {FILE}  # no staging left
    assert everything_under(tmp_path / "hf-home") == set()  # the hub cache was not used
    assert_no_token(done)
    # The token went to the hub, and not to the CDN the file came from.
    heads = [r for r in hub.requests if r.method == "HEAD"]
    assert heads and all(r.authorization == f"Bearer {TOKEN}" for r in heads)
    assert len(hub.gets()) == 1 and hub.gets()[0].authorization is None

    again = writersroom(env, "model", "pull", "tiny")
    assert again.returncode == 0, again.stderr
    assert len(hub.gets()) == 1  # not downloaded again
    assert "Already here" in again.stderr and "nothing was downloaded" in again.stderr
    assert again.stdout.strip() == f"WR_MODEL_PATH={target}"


def test_pull_without_a_pinned_sha256_checks_against_the_hubs(tmp_path: Path, hub: FakeHub) -> None:
    done = writersroom(pull_env(tmp_path, hub, pinned=False), "model", "pull", "tiny")
    assert done.returncode == 0, done.stderr
    assert "the sha256 the hub reports (the catalogue pins none)" in done.stderr
    assert (tmp_path / "data" / "models" / FILE).read_bytes() == BODY


def test_pull_replaces_a_damaged_file_of_that_name(tmp_path: Path, hub: FakeHub) -> None:
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    (models / FILE).write_bytes(BODY[:1000])
    done = writersroom(pull_env(tmp_path, hub), "model", "pull", "tiny")
    assert done.returncode == 0, done.stderr
    assert (models / FILE).read_bytes() == BODY and "replaced a file" in done.stderr


def test_unknown_name_lists_the_known_ones_and_creates_nothing(
    tmp_path: Path, hub: FakeHub
) -> None:
    done = writersroom(pull_env(tmp_path, hub), "model", "pull", "tinny")
    assert done.returncode == 1
    assert "no model named 'tinny'" in done.stderr and "Did you mean tiny?" in done.stderr
    assert "Known names: tiny" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists() and hub.requests == []
    real = writersroom(environment(tmp_path), "model", "pull", "qwen-7b")
    assert real.returncode == 1 and "Did you mean qwen2.5-7b?" in real.stderr


@pytest.mark.parametrize("hub", ["cut"], indirect=True)
def test_a_download_cut_halfway_leaves_nothing(tmp_path: Path, hub: FakeHub) -> None:
    done = writersroom(pull_env(tmp_path, hub), "model", "pull", "tiny")
    assert done.returncode == 1
    assert "was cut off before it finished" in done.stderr and "Nothing was kept" in done.stderr
    assert len(hub.gets()) > 1  # huggingface_hub tried to resume, then gave up
    assert everything_under(tmp_path / "data" / "models") == set()
    assert everything_under(tmp_path / "hf-home") == set()
    assert "Traceback" not in done.stderr and "WARNING" not in done.stderr
    assert done.stdout == ""
    assert_no_token(done)


@pytest.mark.parametrize("hub", ["damaged"], indirect=True)
def test_a_damaged_download_is_deleted(tmp_path: Path, hub: FakeHub) -> None:
    done = writersroom(pull_env(tmp_path, hub), "model", "pull", "tiny")
    assert done.returncode == 1
    assert "was damaged or the file changed upstream" in done.stderr
    assert "It was deleted" in done.stderr
    assert everything_under(tmp_path / "data" / "models") == set()
    assert_no_token(done)


def test_a_file_changed_upstream_is_refused_before_downloading(
    tmp_path: Path, hub: FakeHub
) -> None:
    hub.reported_sha256 = "ab" * 32  # the hub now says the file is another one
    done = writersroom(pull_env(tmp_path, hub), "model", "pull", "tiny")
    assert done.returncode == 1 and "has changed upstream" in done.stderr
    assert hub.gets() == [] and everything_under(tmp_path / "data" / "models") == set()


def test_an_unreachable_hub_is_named(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = environment(tmp_path, HF_ENDPOINT=closed, HF_TOKEN=TOKEN)
    env["WR_MODEL_CATALOGUE"] = str(catalogue(tmp_path, "cd" * 32))
    done = writersroom(env, "model", "pull", "tiny")
    assert done.returncode == 1
    assert f"Could not reach the model hub at {closed}" in done.stderr
    assert "HF_ENDPOINT" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "models").exists()
    assert_no_token(done)


@pytest.mark.parametrize("hub", ["stall"], indirect=True)
def test_ctrl_c_mid_download_leaves_nothing(tmp_path: Path, hub: FakeHub) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "model", "pull", "tiny"],
        cwd=REPO,
        env=pull_env(tmp_path, hub),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert hub.half_sent.wait(120), "the download never started"
        staged = everything_under(tmp_path / "data" / "models")
        assert any(name.endswith(".incomplete") for name in staged), staged  # half a file
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert everything_under(tmp_path / "data" / "models") == set() and out == ""


# ---- list ----------------------------------------------------------------------------------
def test_list_shows_every_entry_with_sizes_memory_licences_and_settings(tmp_path: Path) -> None:
    with fake_hub(FakeHub(REPO_ID, FILE, BODY)) as hub:
        done = writersroom(environment(tmp_path, HF_ENDPOINT=hub.endpoint), "model", "list")
        assert hub.requests == []  # reading the list touches no network
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = "NAME FOR PARAMS FILE MEMORY LICENCE HUGGING FACE REPO"
    assert lines[0].split() == header.split()
    for entry in load_catalogue().models:
        row = next(line for line in lines if line.startswith(entry.name + " "))
        assert entry.target in row and entry.parameters in row and entry.repo in row
        assert entry.licence in row and f"{entry.size / 1e9:.1f} GB" in row
        assert f"{entry.memory_bytes() / 1e9:.1f} GB" in row
    assert "WR_N_GPU_LAYERS=-1" in done.stdout and "WR_N_GPU_LAYERS=0" in done.stdout
    assert {"GPU", "CPU"} <= {line.split()[1] for line in lines[1:6]}
    assert not (tmp_path / "data").exists()


def test_list_reads_another_catalogue_and_refuses_a_broken_one(tmp_path: Path) -> None:
    env = environment(tmp_path, WR_MODEL_CATALOGUE=str(catalogue(tmp_path, "ef" * 32)))
    done = writersroom(env, "model", "list")
    assert done.returncode == 0 and re.search(r"^tiny\s+CPU\s+1M\s+300\.0 kB", done.stdout, re.M)
    broken = tmp_path / "broken.yaml"
    broken.write_text(catalogue(tmp_path, None).read_text().replace("sha256: null", "sha256: 12"))
    done = writersroom({**env, "WR_MODEL_CATALOGUE": str(broken)}, "model", "list")
    assert done.returncode == 1 and "models.0.sha256" in done.stderr


# ---- check ---------------------------------------------------------------------------------
def test_check_reports_the_bundled_model_truthfully(tmp_path: Path, model_path: Path) -> None:
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    for made in (model_path, model_path.with_suffix(".sha256")):  # assembled once a session
        try:
            os.link(made, models / made.name)
        except OSError:
            shutil.copy(made, models / made.name)
    with fake_hub(FakeHub(REPO_ID, FILE, BODY)) as hub:
        env = environment(tmp_path, HF_ENDPOINT=hub.endpoint, WR_N_CTX="4096")
        done = writersroom(env, "model", "check", "--tokens", "16")
        assert hub.requests == []  # loading the model touches no network
    assert done.returncode == 0, done.stderr
    report = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in done.stdout.splitlines()
    )
    assert report["model"].startswith(str(models / model_path.name))
    assert report["kind"].startswith("base")
    assert report["chat template"] == "none in the file; using chat format gemma"
    assert report["context"] == "trained 32,768 tokens; WR_N_CTX 4,096"
    if gpu_offload_supported():
        assert re.match(r"(yes|partly|no): \d+ of 18 layers on the GPU", report["GPU offload"])
    else:
        assert report["GPU offload"] == (
            "no (this llama-cpp-python was built for CPU): 0 of 18 layers on a GPU"
        )
    speed = re.match(
        r"prompt ([\d.]+) tokens/s \((\d+) tokens\); decode ([\d.]+) tokens/s \((\d+) tokens\)",
        report["speed"],
    )
    assert speed, report["speed"]
    prompt_tps, prompt_tokens, decode_tps, decoded = speed.groups()
    assert float(prompt_tps) > 0 and int(prompt_tokens) > 100
    assert float(decode_tps) > 0 and 2 <= int(decoded) <= 16


def test_start_up_does_not_import_the_hub_client() -> None:
    probe = "import sys, bot.cli, bot.compose; print('huggingface_hub' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "False", done.stderr
