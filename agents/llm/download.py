"""Download a catalogue model from the Hugging Face hub into the models folder, checked.

The one path that touches the network, and only when a writer asks (`writersroom model
pull NAME`). huggingface_hub does the transfer (it honours HF_ENDPOINT, HF_TOKEN and its
proxies and resumes a briefly broken connection); this module decides what counts as done:

- The file is downloaded into a hidden staging folder inside the models folder and renamed
  onto its final name only after its sha256 matched, so the final name never holds a partial
  or damaged file and nothing of a failed or interrupted pull is left behind.
- The expected sha256 is the catalogue's where it pins one; else the LFS sha256 the hub
  reports for the file (the caller is told which).
- A file already in place with the expected sha256 is not downloaded again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agents.llm.catalogue import CatalogueEntry
from memory.durable import fsync_dir
from memory.progress import ProgressFn, counted_in_bytes, no_progress

STAGING_PREFIX = ".pull-"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 4 * 1024 * 1024


class PullError(RuntimeError):
    """A pull that did not finish; the message says why, and that nothing was kept."""


class HubUnreachable(PullError):
    pass


class DownloadCut(PullError):
    pass


class ChecksumMismatch(PullError):
    pass


@dataclass(frozen=True)
class Pulled:
    path: Path
    sha256: str
    # Which sha256 the file was checked against: the catalogue's pin or the hub's report.
    checked_against: Literal["catalogue", "hub"]
    downloaded: bool  # False: the file was already there, whole
    replaced: bool = False  # a file of that name that failed the check was replaced


def sha256_of(path: Path, progress: ProgressFn = no_progress) -> str:
    total = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            done += len(block)
            progress(counted_in_bytes("checking sha256"), done, total)
    return digest.hexdigest()


def quiet_library_logs() -> None:
    """Keep huggingface_hub's own warnings (each retry of a broken connection, with the CDN
    address) off the writer's terminal: the outcome is reported in a sentence instead."""
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()


def hub_endpoint() -> str:
    """The hub huggingface_hub talks to: HF_ENDPOINT, read by the library when imported.
    Shown to people, so a mirror's ``user:password@`` is left out."""
    from urllib.parse import urlsplit, urlunsplit

    from huggingface_hub import constants

    parts = urlsplit(str(constants.ENDPOINT))
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)) if parts.netloc else str(constants.ENDPOINT)


def pull(
    entry: CatalogueEntry,
    models_dir: Path,
    progress: ProgressFn = no_progress,
    token: str | None = None,
) -> Pulled:
    """Bring ``entry``'s file into ``models_dir``, checked; raise PullError otherwise.

    ``token``: a Hugging Face access token (None: huggingface_hub's own, HF_TOKEN or its
    login). It is blanked out of any message built from the library's error text, so it
    cannot reach a terminal or a log."""
    secrets = (token,) if token else ()
    target = models_dir / entry.filename
    pinned = entry.sha256
    present = target.is_file()
    # With a pinned sha256 a whole file already here needs no network at all.
    whole = present and target.stat().st_size == entry.size
    if pinned and whole and sha256_of(target, progress) == pinned:
        return Pulled(target, pinned, "catalogue", downloaded=False)
    reported = _hub_sha256(entry, token, secrets)
    if pinned and reported and reported != pinned:
        raise ChecksumMismatch(
            f"{entry.filename} has changed upstream: the hub now reports sha256 {reported}, "
            f"the catalogue pins {pinned}. Nothing was downloaded. Update the catalogue entry "
            "(or WR_MODEL_CATALOGUE) once you trust the new file."
        )
    expected = pinned or reported
    if expected is None:
        raise PullError(
            f"The hub did not report a sha256 for {entry.filename} and the catalogue pins "
            "none, so the download could not be checked. Nothing was downloaded."
        )
    source: Literal["catalogue", "hub"] = "catalogue" if pinned else "hub"
    if not pinned and present and sha256_of(target, progress) == expected:
        return Pulled(target, expected, source, downloaded=False)
    models_dir.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(models_dir)
    with _staging(models_dir) as staging:
        fetched = _download(entry, staging, progress, token, secrets)
        got = sha256_of(fetched, progress)
        if got != expected:
            raise ChecksumMismatch(
                f"The download of {entry.filename} was damaged or the file changed upstream: "
                f"its sha256 is {got}, expected {expected} (from the "
                f"{'catalogue' if pinned else 'hub'}). It was deleted; nothing was kept. "
                "Run the same command again; if it fails the same way, the file on the hub "
                "is not the one the catalogue names."
            )
        with fetched.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(fetched, target)
        fsync_dir(models_dir)
    return Pulled(target, expected, source, downloaded=True, replaced=present)


@contextmanager
def _staging(models_dir: Path) -> Iterator[Path]:
    """A hidden folder for one pull, removed on every way out (an error, Ctrl-C); a kill
    leaves it behind for ``clear_stale_staging``."""
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=models_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clear_stale_staging(models_dir: Path) -> None:
    """Remove staging folders of pulls whose process is gone (killed mid-download)."""
    for folder in models_dir.glob(f"{STAGING_PREFIX}*"):
        match = re.match(rf"{re.escape(STAGING_PREFIX)}(\d+)-", folder.name)
        if folder.is_dir() and match and not _alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _hub_sha256(entry: CatalogueEntry, token: str | None, secrets: tuple[str, ...]) -> str | None:
    """The LFS sha256 the hub reports for the file (its ETag for LFS files), or None where
    the ETag is not one (a file kept in git, not LFS)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(entry.repo, entry.filename, revision=entry.revision)
    try:
        meta = get_hf_file_metadata(url, token=token)
    except Exception as exc:
        raise _explained(exc, entry, secrets, downloading=False) from exc
    etag = (meta.etag or "").strip('"').lower()
    return etag if _SHA256.match(etag) else None


def _download(
    entry: CatalogueEntry,
    staging: Path,
    progress: ProgressFn,
    token: str | None,
    secrets: tuple[str, ...],
) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(
            entry.repo,
            entry.filename,
            revision=entry.revision,
            local_dir=staging,
            token=token,
            tqdm_class=_progress_bar(progress, f"downloading {entry.filename}", entry.size),
        )
    except Exception as exc:
        raise _explained(exc, entry, secrets, downloading=True) from exc
    return Path(str(path))


def _explained(
    exc: Exception, entry: CatalogueEntry, secrets: tuple[str, ...], downloading: bool
) -> Exception:
    """A PullError in a writer's words for what huggingface_hub raised; anything else as is.
    ``downloading``: the hub had answered once already, so a lost connection is a cut, not
    an unreachable hub."""
    from huggingface_hub import errors

    where = f"{entry.repo} (file {entry.filename}, revision {entry.revision})"
    nothing = "Nothing was kept."
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return HubUnreachable(f"HF_HUB_OFFLINE is set, so the hub was not asked. {nothing}")
    # hf_hub_download's own name for "its first request to the hub failed".
    unreachable = isinstance(exc, errors.LocalEntryNotFoundError)
    if unreachable or (_network_failure(exc) and not isinstance(exc, errors.HfHubHTTPError)):
        if unreachable or not downloading:
            return HubUnreachable(
                f"Could not reach the model hub at {hub_endpoint()} "
                f"({_scrub(_reason(exc.__cause__ or exc), secrets)}). Check the network "
                f"connection, or HF_ENDPOINT if you use a mirror. {nothing}"
            )
        return DownloadCut(
            f"The download of {entry.filename} was cut off before it finished "
            f"({_scrub(_reason(exc), secrets)}). {nothing} Run the same command again."
        )
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return DownloadCut(
            f"The download of {entry.filename} stopped short of its full size. {nothing} "
            "Run the same command again."
        )
    if isinstance(exc, errors.GatedRepoError) or (
        isinstance(exc, errors.HfHubHTTPError) and _status(exc) in (401, 403)
    ):
        return PullError(
            f"The hub refused {where}: it needs a login or an accepted licence. Accept the "
            "licence on the model's page, then set HF_TOKEN to an access token of that "
            f"account. {nothing}"
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return PullError(f"The hub has no revision {entry.revision} of {entry.repo}. {nothing}")
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return PullError(f"The hub has no file {entry.filename} in {entry.repo}. {nothing}")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return PullError(f"The hub has no repository {entry.repo}. {nothing}")
    if isinstance(exc, errors.FileMetadataError):
        return HubUnreachable(
            f"The server at {hub_endpoint()} did not answer like a Hugging Face hub; check "
            f"HF_ENDPOINT. {nothing}"
        )
    if isinstance(exc, errors.HfHubHTTPError):
        return PullError(
            f"The hub answered {_status(exc) or 'with an error'} for {where}; try again later. "
            f"{nothing}"
        )
    return exc


def _network_failure(exc: BaseException) -> bool:
    """Could the server not be reached, or did it stop answering? huggingface_hub raises its
    HTTP client's own errors for these (httpx's in 1.x, httpx2's in 2.x): they are known by
    their base class names, so this module imports neither client."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"TransportError", "ConnectionError", "TimeoutError", "Timeout"})


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _progress_bar(progress: ProgressFn, stage: str, size: int) -> type[Any]:
    """A tqdm class (huggingface_hub's hook for progress) that draws nothing itself and
    reports bytes written to ``progress``, so the download shows in the room's own bars."""
    from tqdm import tqdm

    byte_stage = counted_in_bytes(stage)

    class _Bar(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # no output of its own
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)
            self.n = int(kwargs.get("initial") or 0)
            self.total = kwargs.get("total") or size
            progress(byte_stage, self.n, int(self.total))

        def update(self, n: float | None = 1) -> bool | None:
            self.n += int(n or 0)
            progress(byte_stage, self.n, int(self.total or size))
            return True

        # Xet downloads also report bytes on the wire; only bytes written count here.
        def update_transfer(self, n: int) -> None:
            return None

        def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            return None

    bar: Callable[..., Any] = _Bar
    return bar  # type: ignore[return-value]
