"""`brainstorm TOPIC`: open a brainstorm thread with the canon in play and a few
provocations.

Started from a channel on a platform with threads, the opening is written first and the
thread is opened only when there is something to put in it; if the ledger then refuses the
thread (two openings raced), the thread goes again, so no empty brainstorm is left behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from agents import render
from agents.canon import citation, excerpt_block, unique
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply, ThreadOpener
from agents.schemas import BrainstormOpening, Provocation, provocations_schema
from agents.services import Services
from agents.text import words
from agents.verify import verify
from memory.bible import slugify
from memory.bible_parse import Chunk
from memory.history import ConversationKey
from memory.ledger import AlreadyBrainstorm

log = logging.getLogger(__name__)
PROVOCATION_MIN_WORDS = 3
THREAD_SLUG_WORDS = 5


def thread_name(topic: str, key: ConversationKey, taken: Callable[[ConversationKey], bool]) -> str:
    """A named thread for a new brainstorm: 'bs-fog-bell', or 'bs-fog-bell-2' if taken."""
    base = f"bs-{slugify(topic, words=THREAD_SLUG_WORDS) or 'topic'}"
    name, n = base, 2
    while taken(dataclasses.replace(key, thread=name)):
        name, n = f"{base}-{n}", n + 1
    return name


async def _checked(
    services: Services, opening: BrainstormOpening, canon: list[Chunk]
) -> BrainstormOpening:
    """Provocations that quote what is not in the bible or repeat the prompt are dropped;
    the bible's own sentences, cited, take the places they leave."""
    prompts, wanted = services.prompts, services.config.provocations
    instructions = prompts.render("brainstorm_open", show="", topic="", n="", canon="")
    kept: list[Provocation] = []
    for item in opening.provocations:
        checked = verify(item.text, canon, instructions, [opening.topic])
        if len(words(checked.text)) >= PROVOCATION_MIN_WORDS:
            kept.append(item.model_copy(update={"text": checked.text}))
        else:
            log.info("provocation dropped by verification: %s", checked.removed)
    missing = wanted - len(kept)
    if missing > 0 and canon:
        picked = await asyncio.to_thread(services.extractor.pick, opening.topic, canon, wanted)
        kept += [
            Provocation(
                text=prompts.render("provocation_from_canon", sentence=p.sentence).strip(),
                sources=[p.citation],
            )
            for p in picked
            if all(p.sentence not in k.text for k in kept)
        ][:missing]
    return opening.model_copy(update={"provocations": kept})


async def opening(call: Call, topic: str) -> tuple[BrainstormOpening, list[Chunk]]:
    """The opening, checked, and the canon it was written from (a riff starts there)."""
    services, n = call.services, call.services.config.provocations
    canon = await services.relevant(call.show, topic, services.config.topic_canon, call.as_of)
    labels = [f"S{i}" for i in range(1, len(canon) + 1)]
    by_label = {label: citation(c) for label, c in zip(labels, canon, strict=True)}
    prompt = services.prompts.render(
        "brainstorm_open",
        show=call.show,
        topic=topic,
        n=n,
        canon=excerpt_block(services.prompts, canon, [f"[{label}]" for label in labels]),
    )
    chars = services.config.max_field_chars

    def build(data: dict[str, Any]) -> BrainstormOpening:
        return BrainstormOpening(
            topic=topic,
            canon=list(by_label.values()),
            canon_found=bool(canon),
            provocations=[
                Provocation(
                    text=p["text"],
                    sources=unique(by_label[s] for s in p["sources"] if s in by_label),
                )
                for p in data["provocations"]
            ],
        )

    made = await services.produce(
        StructuredRequest(
            what="set of provocations",
            messages=({"role": "user", "content": prompt},),
            schema=provocations_schema(n, labels, chars),
            build=build,
            lane=call.event.lane,
            max_tokens=token_allowance(n * 2, chars),
            temperature=services.config.brainstorm_temperature,
        )
    )
    return await _checked(services, made, canon), canon


async def _discard(threads: ThreadOpener, thread: str) -> None:
    """Take a just-opened thread back; a failure here must not hide the one that caused it."""
    try:
        await threads.discard(thread)
    except Exception:
        log.warning("could not remove the brainstorm thread %s", thread, exc_info=True)


async def run(call: Call) -> Reply:
    event, services = call.event, call.services
    ledger, threads = services.ledger, event.threads
    if threads is not None and event.in_thread:
        raise BadRequest("Start a brainstorm from a channel, not inside a thread.")
    if call.brainstorm is not None and threads is None:
        raise BadRequest(
            f"This thread is already a brainstorm on '{call.brainstorm.topic}'. Start a new "
            "one from the channel."
        )
    topic = call.arg("topic")
    made, canon = await opening(call, topic)
    text = render.brainstorm_opening(made, call.show)
    key, link = event.key, event.link
    if threads is not None:
        name = await asyncio.to_thread(
            thread_name, topic, key, lambda k: ledger.log.brainstorm(k) is not None
        )
        thread, link = await threads.open(topic, name)
        key = dataclasses.replace(key, thread=thread)
    try:
        bs = await asyncio.to_thread(
            ledger.log.open_brainstorm,
            key,
            call.show,
            topic,
            event.actor,
            link=link,
            canon_ids=[c.id for c in canon],
        )
        await asyncio.to_thread(ledger.log.record, bs, event.actor, render.plain(text), kind="bot")
    except BaseException as exc:
        if threads is not None:
            await _discard(threads, key.thread)
        if isinstance(exc, AlreadyBrainstorm):  # two openings raced; the first one stands
            raise BadRequest(
                "This thread became a brainstorm a moment ago; carry on in it."
            ) from None
        raise
    # The bot takes part in the new thread: the room's messages there need no mention.
    await asyncio.to_thread(
        services.state.join_thread, key.platform, key.workspace, key.channel, key.thread
    )
    return Reply(
        kind="brainstorm",
        text=text,
        result=made,
        citations=made.canon,
        thread=key.thread if threads is not None else None,
    )


SPEC = register(
    CommandSpec(
        "brainstorm",
        "Open a brainstorm thread on a topic: the canon in play and a few provocations.",
        (Param("topic", "What the room is breaking, in a sentence.", rest=True),),
        ("brainstorm what the fog bell means to Maren after Toby's death",),
        handler=run,
        result=BrainstormOpening,
        prompt="brainstorm_open",
        slow=True,
        addressable=True,
    )
)
