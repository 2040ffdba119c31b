"""The model catalogue is validated data; the check reads llama.cpp's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm.catalogue import (
    RUNTIME_OVERHEAD,
    ModelCatalogueError,
    UnknownModel,
    load_catalogue,
)
from agents.llm.check import layers_on_gpu, template_sentence


def test_the_shipped_catalogue_is_valid_and_curated() -> None:
    cat = load_catalogue()
    assert 5 <= len(cat.models) <= 6
    assert {m.target for m in cat.models} == {"GPU", "CPU"}
    for m in cat.models:
        assert m.filename.endswith(".gguf") and m.size > 0 and m.licence
        if m.target == "GPU":
            assert "Q4_K_M" in m.filename.upper() and 7 <= float(m.parameters[:-1]) <= 8.5
        else:
            assert 1 <= float(m.parameters[:-1]) <= 3.5


def test_memory_is_file_plus_kv_cache_at_8k_plus_overhead() -> None:
    qwen = load_catalogue().get("qwen2.5-7b")
    kv = 2 * 28 * 4 * 128 * 2 * 8192  # K and V, f16, 28 layers x 4 KV heads x 128
    assert qwen.memory_bytes() == qwen.size + kv + RUNTIME_OVERHEAD
    assert qwen.memory_bytes(16384) - qwen.memory_bytes() == kv


def test_unknown_names_suggest_the_closest() -> None:
    cat = load_catalogue()
    with pytest.raises(UnknownModel) as err:
        cat.get("llama-3.1-8b")
    assert err.value.closest == "llama3.1-8b" and "qwen2.5-1.5b" in str(err.value)
    assert cat.get(" Qwen2.5-7B ").name == "qwen2.5-7b"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("sha256: null", "sha256: ABC"), "sha256"),
        (("size: 10", "size: -1"), "size"),
        (("for: CPU", "for: TPU"), "for"),
        (("repo: a/b", "repo: not a repo"), "repo"),
        (("filename: x.gguf", "filename: ../x.gguf"), "filename"),
        (("licence: MIT\n", "licence: MIT\n    extra: 1\n"), "extra"),
    ],
)
def test_a_broken_entry_is_refused_naming_the_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    good = (
        "models:\n  - name: x\n    title: X\n    for: CPU\n    parameters: 1B\n    repo: a/b\n"
        "    filename: x.gguf\n    size: 10\n    sha256: null\n    licence: MIT\n"
        "    kv: {layers: 1, heads: 1, head_dim: 1}\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text(good)
    assert load_catalogue(path).get("x").sha256 is None
    path.write_text(good.replace(*change))
    with pytest.raises(ModelCatalogueError, match=field):
        load_catalogue(path)
    path.write_text(good + good.split("\n", 1)[1])  # the same entry twice
    with pytest.raises(ModelCatalogueError, match="two entries share the name 'x'"):
        load_catalogue(path)


def test_a_missing_catalogue_says_which_setting() -> None:
    with pytest.raises(ModelCatalogueError, match="WR_MODEL_CATALOGUE"):
        load_catalogue(Path("/nonexistent/catalogue.yaml"))


def test_gpu_layers_are_counted_from_llama_cpps_own_log() -> None:
    cpu = [f"load_tensors: layer {i:3d} assigned to device CPU, is_swa = 0" for i in range(19)]
    assert layers_on_gpu(cpu, 18) == 0
    gpu = [f"load_tensors: layer {i:3d} assigned to device CUDA0, is_swa = 0" for i in range(29)]
    assert layers_on_gpu(gpu, 28) == 28  # the output layer (28) is not a block
    assert layers_on_gpu(cpu[:10] + gpu[10:], 28) == 18
    assert layers_on_gpu(["llama_context: n_ctx = 4096"], 28) is None  # it did not say


def test_template_sentence_says_where_the_format_comes_from() -> None:
    chatml = "{%- if tools %}\n<|im_start|>system\n..."
    assert template_sentence(chatml, None) == "in the file: ChatML (first line: {%- if tools %})"
    assert "not used: WR_CHAT_FORMAT=chatml is" in template_sentence(chatml, "chatml")
    assert template_sentence(None, "gemma") == "none in the file; using chat format gemma"
    assert "chatml (the default" in template_sentence(None, None)


def test_a_server_template_is_named_as_the_server_reports_it() -> None:
    from agents.llm.check import server_template_sentence

    assert server_template_sentence("gemma") == "the server's built-in 'gemma'"
    jinja = "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"
    assert server_template_sentence(jinja).startswith("the server's: ChatML")
    assert "does not say" in server_template_sentence(None)


def test_the_hub_address_shown_never_carries_a_mirror_s_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    from agents.llm.download import hub_endpoint

    monkeypatch.setattr(constants, "ENDPOINT", "https://me:s3cret@mirror.example:8443/hf")
    shown = hub_endpoint()
    assert shown == "https://mirror.example:8443/hf" and "s3cret" not in shown
