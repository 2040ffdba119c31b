"""Screenplay files in and out: Fountain and Final Draft (FDX), through one neutral
``Script`` (``agents.screenplay.model``).

Libraries, as evaluated for this (November 2026):

- screenplain 0.12 (Fountain in; FDX, HTML, PDF out; MIT, maintained since 2011) reads
  Fountain correctly where naive readers break: boneyard and notes removed, dual dialogue
  paired, forced headings and cues, cue extensions kept whole, emphasis parsed. It has no
  lyric type and keeps only the last synopsis under a heading; ``fountain_in`` handles
  lyrics. It is the Fountain reader, and the only module that imports it is ``fountain_in``.
- screenplay-tools 0.0.10 (Fountain and FDX both ways) dropped ``(CONT'D)`` from
  ``MAREN (CONT'D)``, left note and boneyard markers in dialogue text, and its FDX reader
  uses the standard library's unprotected XML, reads only a paragraph's first text run and
  drops dual dialogue. Not used.
- fountain 0.1.3 (fountain-py; 2014, unmaintained, Fountain to LaTeX). Not used.

So FDX is read by our own ``fdx_in`` on defusedxml, and both formats are written by our own
``fountain_out`` and ``fdx_out``: neither library writes Final Draft's outline elements
(a beat sheet), and writing is a few dozen lines with the standard library.
"""
