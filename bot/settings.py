"""All configuration, read once at the composition root (bot.compose) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.llm.server_info import check_base_url


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "writersroom"


def default_sample_bible() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "lantern_line"


class Settings(BaseSettings):
    """Every setting has a WR_ environment variable (see .env.example)."""

    model_config = SettingsConfigDict(
        env_prefix="WR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    # Model
    model_path: Path | None = None
    chat_format: str | None = None
    # The list `writersroom model list/pull` offers; default: the one shipped in agents/llm.
    model_catalogue: Path | None = None
    # For `writersroom model pull` of a gated or private file: Hugging Face's own variable.
    # Unset: huggingface_hub's own login (`hf auth login`), if any. Never logged.
    hf_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WR_HF_TOKEN", "HF_TOKEN")
    )
    # base: continues text (needs a completion prompt); instruct: answers chat turns.
    # auto: instruct when the GGUF carries a chat template (the bundled model does not).
    model_kind: Literal["auto", "base", "instruct"] = "auto"
    # extract: answers are the bible's own sentences, cited; generate: the model writes them
    # and they are verified. auto: extract on a base model, generate on an instruct model.
    answer_mode: Literal["auto", "extract", "generate"] = "auto"
    n_ctx: int = Field(8192, ge=512)
    n_batch: int = Field(512, ge=8)
    n_gpu_layers: int = -1
    n_threads: int | None = Field(None, ge=1)
    max_tokens: int = Field(512, ge=16)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    seed: int = 1234
    request_deadline_s: float = Field(120.0, gt=0)
    # Requests waiting for the model, all channels together; past it a writer is told the
    # room is busy at once instead of waiting past the deadline in silence.
    max_queue: int = Field(16, ge=1)
    max_field_chars: int = Field(240, ge=20)
    # A served model (a studio): an OpenAI-compatible server (llama-server, vLLM) instead of
    # the in-process model. Unset: WR_MODEL_PATH (or the bundled test model) runs in process.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None  # vLLM needs the served name; empty: the server's first
    # Requests sent to the server at once; set it to the server's parallel slots.
    llm_max_concurrency: int = Field(4, ge=1, le=256)
    # Bible
    chroma_path: Path | None = None
    chroma_host: str | None = None
    chroma_port: int = 8000
    default_show: str = "lantern-line"
    sample_bible: Path = Field(default_factory=default_sample_bible)
    search_k: int = Field(5, ge=1, le=50)
    relevance_threshold: float = Field(0.4, ge=-1.0, le=1.0)
    # Room
    max_message_chars: int = Field(8000, ge=100)
    # The largest file a writer may attach for the bot to read (a script for doctor or
    # import); adapters refuse larger ones before downloading them. 5 MB.
    max_upload_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    history_token_budget: int = Field(3000, ge=0)
    # Which show a channel works on: a YAML file {workspace: {channel: show}}.
    show_map: Path | None = None
    # Slack. Tokens are read from Slack's usual variable names too; they are never logged.
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WR_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WR_SLACK_APP_TOKEN", "SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WR_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = "https://slack.com/api/"
    # Slack user IDs allowed to change a channel's show, comma-separated.
    slack_admins: str = ""
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WR_DISCORD_TOKEN", "DISCORD_TOKEN")
    )
    # Discord's REST root (/api/v10); when set, the gateway address comes from its /gateway/bot.
    discord_api_base: str | None = None
    # Discord role IDs (not names: names can be copied) allowed to change a channel's show.
    discord_admin_roles: str = ""
    # Who may promote pitches and wrap-ups into the bible (canon add / canon undo), besides
    # the admins above: Slack user IDs; Discord role or user IDs; terminal room names (empty:
    # whoever uses the terminal, who owns the bible's files anyway).
    slack_canon_editors: str = ""
    discord_canon_editors: str = ""
    terminal_canon_writers: str = ""

    @field_validator(
        "model_path",
        "llm_base_url",
        "llm_api_key",
        "llm_model",
        "model_catalogue",
        "chroma_path",
        "show_map",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "discord_token",
        "hf_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("llm_base_url")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)

    @field_validator("discord_admin_roles", "discord_canon_editors")
    @classmethod
    def _discord_ids(cls, value: str) -> str:
        if any(not v.isdigit() for v in _names(value)):
            raise ValueError("must be Discord IDs (numbers), comma-separated")
        return value

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def history_path(self) -> Path:
        return self.data_dir / "room.sqlite3"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.sqlite3"

    @property
    def slack_admin_ids(self) -> frozenset[str]:
        return _names(self.slack_admins)

    @property
    def discord_admin_role_ids(self) -> frozenset[int]:
        return frozenset(int(r) for r in _names(self.discord_admin_roles))

    @property
    def slack_canon_editor_ids(self) -> frozenset[str]:
        return _names(self.slack_canon_editors) | self.slack_admin_ids

    @property
    def discord_canon_editor_ids(self) -> frozenset[int]:
        return frozenset(int(r) for r in _names(self.discord_canon_editors)) | (
            self.discord_admin_role_ids
        )

    @property
    def terminal_canon_writer_names(self) -> frozenset[str]:
        return _names(self.terminal_canon_writers)

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def bibles_dir(self) -> Path:
        """Where bundled sample bibles are copied to become a room's own, editable bible."""
        return self.data_dir / "bibles"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def exports_dir(self) -> Path:
        """Where the terminal room and `writersroom ask` save the files replies carry."""
        return self.data_dir / "exports"


def _names(value: str) -> frozenset[str]:
    """A comma-separated setting as a set, blanks dropped."""
    return frozenset(v.strip() for v in value.split(",") if v.strip())
