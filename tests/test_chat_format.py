"""Prompt formatting for models with and without a chat template (rendering only)."""

from pathlib import Path
from types import SimpleNamespace

from agents.llm.llama import LlamaEngine, fold_system_into_first_user

TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


class TemplatedModel(SimpleNamespace):
    """Stands in for a loaded Llama whose GGUF carries a chat template."""

    def __init__(self, adds_bos: bool = True) -> None:
        super().__init__(
            metadata={"tokenizer.chat_template": TEMPLATE},
            _model=SimpleNamespace(token_get_text=lambda t: {1: "<s>", 2: "</s>"}[t]),
            adds_bos=adds_bos,
        )

    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        """Only what the formatter asks: does tokenizing add BOS by itself?"""
        assert text == b""
        return [1] if add_bos and self.adds_bos else []

    def token_eos(self) -> int:
        return 2

    def token_bos(self) -> int:
        return 1


def formatter(chat_format: str | None, llama: object):  # type: ignore[no-untyped-def]
    eng = LlamaEngine(
        Path("unused.gguf"),
        chat_format=chat_format,
        n_ctx=512,
        n_batch=64,
        n_gpu_layers=0,
        n_threads=1,
        seed=1,
        deadline_s=1,
    )
    try:
        return eng._make_formatter(llama)
    finally:
        eng.close()


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_gguf_template_is_used_and_bos_not_doubled() -> None:
    render = formatter(None, TemplatedModel())
    assert render(MESSAGES) == "<|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>"


def test_a_template_bos_stays_where_the_tokenizer_adds_none() -> None:
    """ChatML models (SmolLM2) use <|im_start|> as BOS and their tokenizer adds none: taking
    it off the template's text would drop the first turn's marker."""
    render = formatter(None, TemplatedModel(adds_bos=False))
    assert render(MESSAGES) == "<s><|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>"


def test_gemma_without_template_keeps_the_system_prompt() -> None:
    bare = SimpleNamespace(metadata={})
    prompt = formatter("gemma", bare)(MESSAGES)
    assert prompt.startswith("<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n")
    assert prompt.endswith("<start_of_turn>model\n")


def test_fold_system_without_a_user_turn() -> None:
    assert fold_system_into_first_user([{"role": "system", "content": "S"}]) == [
        {"role": "user", "content": "S"}
    ]
