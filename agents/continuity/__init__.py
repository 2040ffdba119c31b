"""Continuity: check a pitch, a beat sheet or a scene against canon as of an episode.

``claims`` turns text into claims (who, where, when); ``checks`` and ``numbers`` are the
deterministic checks on the bible's dated facts; ``verdicts`` asks the model about the rest,
under a grammar; ``run`` puts them together; ``report`` is the result.
"""
