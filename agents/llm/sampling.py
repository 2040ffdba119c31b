"""Token sampling over llama.cpp's sampler API, with grammar-constrained decoding at speed.

llama-cpp-python applies a grammar to the whole vocabulary (262k tokens for Gemma 3) before
top-k at every step, which makes JSON output about 4x slower than free text. Here, as in
llama.cpp's own common sampler, the free chain samples first, the grammar checks only that
one token, and only a rejected token sends us to a shortlist of the highest logits, then to
the full vocabulary if the shortlist holds no allowed token.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import llama_cpp as C
import numpy as np

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)


def _token_array(cand: np.ndarray) -> Any:
    """A llama_token_data_array over a numpy array of _TOKEN_DATA (no copy; keep cand alive)."""
    return C.llama_token_data_array(
        data=ctypes.cast(cand.ctypes.data, C.llama_token_data_p),
        size=len(cand),
        selected=-1,
        sorted=False,
    )


class GrammarError(ValueError):
    """The grammar could not be compiled, or no token can continue it."""


class TokenSampler:
    """Samples the next token from the context's last logits; one per generation."""

    def __init__(
        self,
        ctx: Any,
        vocab: Any,
        n_vocab: int,
        *,
        temperature: float,
        seed: int,
        top_k: int = 40,
        top_p: float = 0.95,
        grammar: str | None = None,
        shortlist: int = 256,
        repeat_penalty: float = 1.0,
    ) -> None:
        self._ctx = ctx
        self._n_vocab = n_vocab
        self._shortlist = min(shortlist, n_vocab)
        self._chain = C.llama_sampler_chain_init(C.llama_sampler_chain_default_params())
        # Top-k first: penalties and the rest then touch 40 candidates, not the vocabulary.
        C.llama_sampler_chain_add(self._chain, C.llama_sampler_init_top_k(top_k))
        if repeat_penalty != 1.0:
            C.llama_sampler_chain_add(
                self._chain, C.llama_sampler_init_penalties(n_vocab, 64, repeat_penalty, 0.0, 0.0)
            )
        if temperature <= 0:
            C.llama_sampler_chain_add(self._chain, C.llama_sampler_init_greedy())
        else:
            C.llama_sampler_chain_add(self._chain, C.llama_sampler_init_top_p(top_p, 1))
            C.llama_sampler_chain_add(self._chain, C.llama_sampler_init_temp(temperature))
            C.llama_sampler_chain_add(self._chain, C.llama_sampler_init_dist(seed))
        self._grammar = None
        if grammar is not None:
            self._grammar = C.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
            if not self._grammar:
                C.llama_sampler_free(self._chain)
                raise GrammarError("the output grammar could not be compiled")
        self._one = (C.llama_token_data * 1)()
        self._one_array = C.llama_token_data_array(
            data=ctypes.cast(self._one, C.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        self.grammar_fallbacks = 0  # sampled token rejected by the grammar
        self.full_vocab_fallbacks = 0  # ... and no allowed token in the shortlist either

    def sample(self) -> int:
        token = int(C.llama_sampler_sample(self._chain, self._ctx, -1))
        if self._grammar is None:
            return token
        if not self._allowed(token):
            self.grammar_fallbacks += 1
            token = self._constrained_resample()
        C.llama_sampler_accept(self._grammar, token)
        return token

    def _allowed(self, token: int) -> bool:
        self._one[0].id = token  # type: ignore[assignment]
        self._one[0].logit = 0.0
        self._one[0].p = 0.0
        self._one_array.size = 1
        self._one_array.selected = -1
        self._one_array.sorted = False
        C.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        return math.isfinite(self._one[0].logit)

    def _constrained_resample(self) -> int:
        logits = np.ctypeslib.as_array(
            C.llama_get_logits_ith(self._ctx, -1), shape=(self._n_vocab,)
        )
        sizes = (
            (self._shortlist, self._n_vocab)
            if self._shortlist < self._n_vocab
            else (self._n_vocab,)
        )
        for size in sizes:
            if size < self._n_vocab:
                ids = np.argpartition(-logits, size - 1)[:size]
            else:
                ids = np.arange(self._n_vocab)
            cand = np.zeros(len(ids), dtype=_TOKEN_DATA)
            cand["id"] = ids
            cand["logit"] = logits[ids]
            token = self._apply_grammar_then_chain(cand)
            if token is not None:
                return token
            self.full_vocab_fallbacks += size < self._n_vocab
        raise GrammarError("no token can continue the output grammar")

    def _apply_grammar_then_chain(self, cand: np.ndarray) -> int | None:
        C.llama_sampler_apply(self._grammar, ctypes.byref(_token_array(cand)))
        allowed = np.ascontiguousarray(cand[np.isfinite(cand["logit"])])
        if len(allowed) == 0:
            return None
        array = _token_array(allowed)
        C.llama_sampler_apply(self._chain, ctypes.byref(array))
        token = int(array.data[array.selected].id)
        C.llama_sampler_accept(self._chain, token)
        return token

    def close(self) -> None:
        if self._chain:
            C.llama_sampler_free(self._chain)
            self._chain = None
        if self._grammar:
            C.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        self.close()
