"""`import [EPISODE]` with a script attached: a canon editor files a Fountain or Final Draft
script into the show's bible (see ``agents.script_import``). Anyone else is refused before
the file is read, and the refusal is kept in the ledger's audit log like a refused
promotion. No model is used: every word written comes from the script."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.messages import Inbound, Reply
from agents.schemas import Citation
from agents.screenplay.model import page_count
from agents.script_import.apply import Imported, ScriptImporter

NOTHING = "Nothing in the bible changed."


class ScriptImport(BaseModel):
    script: str
    format: str
    encoding: str
    episode: str
    title: str
    scenes: int
    pages: int  # about how many (agents.screenplay.model.page_count)
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


def how_to_attach(platform: str, addressed_as: str) -> str:
    if platform == "terminal":
        return (
            "Attach the script first with /attach PATH (a .fountain or .fdx file), then "
            "/import (or /import S2E01 to name the episode)"
        )
    return (
        "Attach the script (.fountain or .fdx) to a message that says "
        f"`{addressed_as} import` (or `{addressed_as} import S2E01` to name the episode); a "
        "slash command cannot carry a file"
    )


def the_file(files: list[Inbound], platform: str, addressed_as: str) -> Inbound:
    if not files:
        raise BadRequest(f"{how_to_attach(platform, addressed_as)}. {NOTHING}")
    if len(files) > 1:
        names = ", ".join(f.name for f in files)
        raise BadRequest(
            f"You attached {len(files)} files ({names}); import one script at a time. {NOTHING}"
        )
    if files[0].error:
        raise BadRequest(f"I could not read {files[0].name}: {files[0].error}. {NOTHING}")
    return files[0]


def result_of(done: Imported) -> ScriptImport:
    plan = done.plan
    by = {a: [c.rel for c in plan.changes if c.action == a] for a in ("created", "updated")}
    return ScriptImport(
        script=done.file,
        format=done.loaded.format,
        encoding=done.loaded.encoding,
        episode=plan.episode.code,
        title=plan.title,
        scenes=plan.scenes,
        pages=round(page_count(done.loaded.script)),
        created=by["created"],
        updated=by["updated"],
        unchanged=[c.rel for c in plan.changes if c.action == "unchanged"],
        skipped=list(plan.skipped),
    )


def report(done: Imported, result: ScriptImport) -> str:
    plan = done.plan
    lines = [
        f"Imported {result.script} ({result.format}, read as {result.encoding}) into the "
        f"{done.show} bible as "
        f"{result.episode} “{result.title}”: {result.scenes} scenes, about {result.pages} "
        "pages."
    ]
    for change in plan.changes:
        if change.action != "unchanged":
            lines.append(f"• {change.action}: {change.rel} ({change.what})")
    if result.unchanged:
        lines.append(f"• unchanged: {len(result.unchanged)} files already up to date")
    lines += [f"• skipped: {why}" for why in result.skipped]
    if not plan.writes:
        lines.append("It was imported before: nothing needed to change.")
    return "\n".join(lines)


async def run(call: Call) -> Reply:
    services, event = call.services, call.event
    files = list(getattr(event, "files", []))
    name = files[0].name if files else ""
    services.canon.check_allowed(event.actor, call.may_edit_canon, call.show, "import", name)
    script = the_file(files, event.platform, event.addressed_as)
    importer = ScriptImporter(services.bible, services.canon.read_only)
    done = await asyncio.to_thread(
        importer.run,
        call.show,
        script.name,
        script.data or b"",
        services.config.max_upload_bytes,
        call.arg("episode"),
        size=script.size,
    )
    result = result_of(done)
    await asyncio.to_thread(
        services.ledger.promotions.note,
        call.show,
        event.actor,
        "canon.imported",
        script=result.script,
        episode=result.episode,
        created=result.created,
        updated=result.updated,
    )
    episode_file = done.plan.changes[0].rel
    cite = Citation(file=episode_file, heading=f"{result.episode} — {result.title}")
    return Reply(kind="import", text=report(done, result), result=result, citations=[cite])


SPEC = register(
    CommandSpec(
        "import",
        "Canon editors only: file an attached script (.fountain or .fdx) into the bible as an "
        "episode, with its scenes, cast and first lines.",
        (
            Param(
                "episode",
                "Which episode it is (S2E01); default: from the script.",
                False,
                rest=True,
            ),
        ),
        ("import S2E01 (with the script attached)", "import (the title page names the episode)"),
        handler=run,
        result=ScriptImport,
        slow=True,
        addressable=True,
        notes_as_of=False,
        takes_files=True,
    )
)
