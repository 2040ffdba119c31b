"""The curated list of instruct GGUFs a room can download (`writersroom model list/pull`).

The list itself is data (``catalogue.yaml`` beside this module, or the file WR_MODEL_CATALOGUE
names); this module reads it and validates every field, so a typo in a repo, a size or a
sha256 fails when the list is read, not halfway through a 5 GB download.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# The context the memory column is computed for: the default WR_N_CTX.
MEMORY_CONTEXT = 8192
# An allowance for what llama.cpp allocates besides the weights and the KV cache: the compute
# buffers (at n_batch 512 the logits alone are 512 x vocabulary x 4 bytes, 0.26-0.31 GB for
# these vocabularies) and, on a GPU, the CUDA context. Rounded up to 1 GiB for every entry.
RUNTIME_OVERHEAD = 1 << 30


class ModelCatalogueError(ValueError):
    """The catalogue file cannot be read or is not valid; the message names the field."""


class UnknownModel(LookupError):
    """A name that is not in the catalogue; the message lists the names and the closest."""

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]}?" if close else ""
        super().__init__(
            f"There is no model named '{name}' in the catalogue.{hint} "
            f"Known names: {', '.join(known)} (writersroom model list shows them)."
        )
        self.closest = close[0] if close else None


class KvShape(BaseModel):
    """What one token of context costs in the KV cache: layers x KV heads x head size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layers: int = Field(gt=0)
    heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)

    def bytes_per_token(self) -> int:
        # K and V, each layers x kv_heads x head_dim values of 2 bytes (llama.cpp's f16 cache).
        return 2 * self.layers * self.heads * self.head_dim * 2


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$", max_length=40)
    title: str = Field(min_length=1)
    target: Literal["GPU", "CPU"] = Field(alias="for")
    parameters: str = Field(pattern=r"^\d+(\.\d+)?[BM]$")
    repo: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    filename: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*\.gguf$")
    revision: str = Field("main", min_length=1)
    size: int = Field(gt=0)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    licence: str = Field(min_length=1)
    kv: KvShape
    chat: str = ""

    def memory_bytes(self, context: int = MEMORY_CONTEXT) -> int:
        """Memory to run it: the file (mapped whole), the KV cache for ``context`` tokens, and
        the runtime allowance. GPU memory for a GPU entry with every layer offloaded; RAM on a
        CPU."""
        return self.size + self.kv.bytes_per_token() * context + RUNTIME_OVERHEAD


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[CatalogueEntry] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _unique(cls, models: list[CatalogueEntry]) -> list[CatalogueEntry]:
        for field in ("name", "filename"):
            seen: set[str] = set()
            for entry in models:
                value = getattr(entry, field)
                if value in seen:
                    raise ValueError(f"two entries share the {field} '{value}'")
                seen.add(value)
        return models

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str) -> CatalogueEntry:
        for entry in self.models:
            if entry.name == name.strip().lower():
                return entry
        raise UnknownModel(name, self.names)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at ``path``, or the one shipped with the package."""
    where = str(path) if path is not None else "the bundled catalogue"
    try:
        if path is None:
            text = resources.files("agents.llm").joinpath("catalogue.yaml").read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return Catalogue.model_validate(yaml.safe_load(text))
    except OSError as exc:
        raise ModelCatalogueError(
            f"The model catalogue {where} could not be read ({exc.strerror or exc}); "
            "fix WR_MODEL_CATALOGUE or remove it to use the bundled one."
        ) from None
    except yaml.YAMLError as exc:
        raise ModelCatalogueError(f"The model catalogue {where} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelCatalogueError(
            f"The model catalogue {where} is not valid: {field}: {first['msg']}"
        ) from None
