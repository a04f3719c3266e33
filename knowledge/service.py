"""The knowledge base in service: the current KB and its matcher, swapped whole on reload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.loader import KnowledgeBase, Problem, check
from knowledge.matcher import Matcher, Thresholds


@dataclass(frozen=True)
class Loaded:
    kb: KnowledgeBase
    matcher: Matcher


class KnowledgeService:
    """Serves one validated KB version at a time; a failed reload keeps the old one."""

    def __init__(self, path: str | Path, thresholds: Thresholds | None = None) -> None:
        self.path = Path(path)
        self.thresholds = thresholds or Thresholds()
        self._current: Loaded | None = None

    @property
    def current(self) -> Loaded:
        if self._current is None:
            raise RuntimeError("the knowledge base is not loaded yet")
        return self._current

    @property
    def kb(self) -> KnowledgeBase:
        return self.current.kb

    @property
    def matcher(self) -> Matcher:
        return self.current.matcher

    def reload(self) -> tuple[bool, list[Problem]]:
        """Validate the KB on disk and, only if it has no errors, serve it (one assignment)."""
        kb, problems = check(self.path)
        if kb is None:
            return False, problems
        self._current = Loaded(kb, Matcher(kb, self.thresholds))
        return True, problems
