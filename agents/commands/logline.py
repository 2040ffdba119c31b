"""`logline PREMISE [N]`: distinct loglines for a premise, grounded in the canon it touches."""

from __future__ import annotations

from agents import render
from agents.canon import citation, excerpt_block
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import LoglineSet, logline_schema

MAX_LOGLINES = 10
CANON_SECTIONS = 3


async def run(call: Call) -> Reply:
    premise, n = call.arg("premise"), call.arg("n")
    services, chars = call.services, call.services.config.max_field_chars
    canon = await services.relevant(call.show, premise, CANON_SECTIONS, call.as_of)
    sources = [citation(c) for c in canon]
    prompt = services.prompts.render(
        "logline",
        n=n,
        show=call.show,
        canon=excerpt_block(services.prompts, canon, [c.citation for c in canon]),
        premise=premise,
    )
    result = await services.produce(
        StructuredRequest(
            what="set of loglines",
            messages=({"role": "user", "content": prompt},),
            schema=logline_schema(n, chars),
            build=lambda d: LoglineSet(premise=premise, loglines=d["loglines"], sources=sources),
            lane=call.event.lane,
            max_tokens=token_allowance(5 * n, chars),
            temperature=services.config.structured_temperature,
        )
    )
    return Reply(kind="loglines", text=render.loglines(result), result=result, citations=sources)


SPEC = register(
    CommandSpec(
        "logline",
        "Pitch distinct loglines for a premise: protagonist, goal, obstacle and hook.",
        (
            Param("premise", "The story idea, in a sentence or two.", rest=True),
            Param(
                "n",
                f"How many loglines (1-{MAX_LOGLINES}).",
                False,
                kind="int",
                default=3,
                least=1,
                most=MAX_LOGLINES,
            ),
        ),
        ("logline Maren has to smuggle a crate to save the ferry 3",),
        handler=run,
        result=LoglineSet,
        prompt="logline",
        slow=True,
        records=True,
    )
)
