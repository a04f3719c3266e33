"""Which files a knowledge base is made of, and reading one within the size limit."""

from __future__ import annotations

import os
from pathlib import Path

from knowledge.problem import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024  # one YAML file (the 10,000-topic benchmark's are ~0.5 MB)


def kb_files(path: Path) -> list[Path]:
    """The YAML files of a knowledge base: a directory's *.yaml/*.yml, or a single file.
    Only files inside the directory (symbolic links resolved) are listed."""
    return list_files(path)[0]


def list_files(path: Path) -> tuple[list[Path], list[Problem]]:
    """The KB's YAML files, and a problem for every link that leads out of the KB folder
    (such a file is never read: the folder is the whole of what the bot may serve)."""
    if path.is_file():
        return [path], []
    root = path.resolve()
    files: list[Path] = []
    problems: list[Problem] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        for entry in sorted([*dirs, *names]):
            candidate = here / entry
            if not candidate.is_symlink():
                if entry in names and candidate.suffix in (".yaml", ".yml"):
                    files.append(candidate)
                continue
            target = candidate.resolve()
            inside = target == root or root in target.parents
            if not inside:
                problems.append(
                    Problem(
                        display(candidate),
                        1,
                        f"refused: a link to {target}, outside the knowledge-base folder "
                        f"{root}; copy the file into the folder instead",
                    )
                )
            elif candidate.suffix in (".yaml", ".yml") and target.is_file():
                files.append(candidate)  # a link within the folder: read like its target
        dirs.sort()
    return sorted(files), problems


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_limited(file: Path, name: str, problems: list[Problem]) -> bytes | None:
    """The file's bytes, or None (with a problem) when it can't be read or is too big; the
    size is checked before reading, so a huge file costs nothing."""
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                problems.append(
                    Problem(
                        name,
                        1,
                        f"refused: {size:,} bytes; a knowledge-base file may have at most "
                        f"{MAX_FILE_BYTES:,} (split it into several files)",
                    )
                )
                return None
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
        return None
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        problems.append(Problem(name, 1, f"refused: over {MAX_FILE_BYTES:,} bytes"))
        return None
    return raw
