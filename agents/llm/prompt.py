"""A prompt as the model's tokenizer must see it: the chat template's own markup, whose
control tokens are real, and everything else as plain text.

Writers' messages and bible sections are untrusted. Tokenized with llama.cpp's
``special=True``, a bible section holding ``<end_of_turn>`` would become Gemma's real
end-of-turn token: a planted section could close its quote and open a turn of its own. So a
chat prompt is rendered with a private marker in place of each message's content, and the
rendered text is split at the markers: the template's text between them is the only part
tokenized with control tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Private-use code points: no prompt, bible or message is expected to hold them, and any that
# does has them removed before rendering, so a marker can only come from us.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


@dataclass(frozen=True)
class Prompt:
    """``parts``: (text, is_template). Only template parts may contain control tokens."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)

    @classmethod
    def plain(cls, text: str) -> Prompt:
        """A prompt with no template markup at all (a base model's completion prompt)."""
        return cls(((text, False),))


def _clean(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def templated(
    render: Callable[[list[dict[str, str]]], str], messages: Sequence[dict[str, str]]
) -> Prompt:
    """Render chat ``messages`` with ``render`` (the model's chat template), keeping each
    message's content apart from the template's markup."""
    contents = [_clean(m["content"]) for m in messages]
    stand_ins = [{**m, "content": f"{_OPEN}{i}{_CLOSE}"} for i, m in enumerate(messages)]
    rendered = render(stand_ins)
    found = [int(i) for i in _MARKER.findall(rendered)]
    if sorted(found) != list(range(len(messages))):
        # A template that rewrites or repeats content: the markers cannot be trusted to mark
        # it, so the whole prompt is rendered for real and tokenized as plain text. The model
        # loses its turn markup (answers get worse) but nothing a writer typed becomes one.
        real = render([{**m, "content": c} for m, c in zip(messages, contents, strict=True)])
        return Prompt.plain(real)
    parts: list[tuple[str, bool]] = []
    at = 0
    for match in _MARKER.finditer(rendered):
        parts.append((rendered[at : match.start()], True))
        parts.append((contents[int(match.group(1))], False))
        at = match.end()
    parts.append((rendered[at:], True))
    return Prompt(tuple((text, template) for text, template in parts if text))


def as_prompt(prompt: Prompt | str) -> Prompt:
    """A bare string is a completion prompt: plain text throughout."""
    return prompt if isinstance(prompt, Prompt) else Prompt.plain(prompt)


# ---- text sent to a model server -------------------------------------------------------------
# A server applies the chat template itself and tokenizes the result with control tokens on
# (llama-server, vLLM), so the split above cannot be made there. Instead, what looks like a
# control token in the text sent (<end_of_turn>, <|im_end|>, </s>, [INST]) gets an invisible
# word joiner after its opening bracket: it still reads the same, but no tokenizer's
# control-token match fires on it. The joiner is taken out of what the model writes back.
JOINER = "\u2060"
_CONTROL_LOOKALIKE = re.compile(r"(<)(?=/?\|?[A-Za-z_][\w.:|-]{0,40}\|?>)|(\[)(?=/?[A-Z_]{3,30}\])")


def defang(text: str) -> str:
    """``text`` with control-token look-alikes broken by an invisible joiner."""
    return _CONTROL_LOOKALIKE.sub(lambda m: m.group(0) + JOINER, text)
