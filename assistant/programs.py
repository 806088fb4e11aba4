"""Regular expressions cached with their compiled program, so a process that loads the cache does
not parse and compile them again.

Compiling is most of what a one-shot question costs beyond importing the dependencies: the fact
patterns expand the lexicon's alternations into large expressions, and Python compiles every
character class holding Chinese through a 64K-entry table. Python's own pickling of a pattern
keeps only its source and compiles it again on loading; here the program (the list of opcodes
`re` itself builds) is kept too and handed straight to the regex engine. A program is used only
by the Python it was built with; anything unexpected falls back to compiling the source.
"""

from __future__ import annotations

import re
import sys
from array import array

try:
    import _sre
except ImportError:       # another Python implementation: always compile the source
    _sre = None

# A program fits only the engine that built it.
_TAG = (sys.implementation.name, sys.version_info[:2], getattr(_sre, "MAGIC", None), getattr(_sre, "CODESIZE", None))


def program(source: str, flags: int) -> tuple | None:
    """What `re` compiles `source` into: the engine's opcodes and the groups; None if unavailable."""
    if _sre is None or _sre.CODESIZE != 4:
        return None
    try:
        from re import _compiler, _parser

        parsed = _parser.parse(source, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        return (_TAG, flags | parsed.state.flags, array("I", code).tobytes(),
                parsed.state.groups - 1, groupindex, tuple(indexgroup))
    except Exception:     # internals differ in this Python: the source will be compiled
        return None


def restore(source: str, flags: int, prog: tuple | None) -> re.Pattern:
    """The compiled pattern, from its program when it fits this Python, else from its source."""
    if prog is not None and prog[0] == _TAG:
        try:
            code = array("I")
            code.frombytes(prog[2])
            # the engine validates the program and raises on one it cannot run
            return _sre.compile(source, prog[1], code.tolist(), prog[3], prog[4], prog[5])
        except Exception:
            pass
    return re.compile(source, flags)


def reduce_pattern(rx: re.Pattern):
    """Pickle a compiled pattern with its program (for `pickle.Pickler.dispatch_table`)."""
    return restore, (rx.pattern, rx.flags, program(rx.pattern, rx.flags))
