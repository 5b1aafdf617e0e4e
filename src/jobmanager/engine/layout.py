"""Where an environment keeps its files: one definition for the engine and the reaper.

```
<root>/                 jm-env-XXXXXXXX under the service's environments folder
  work/input/           the model's working directory: the input folder's files
  work/output/          everything here is uploaded to the job's output folder
  tmp/                  the environment's /tmp when it runs in a sandbox
  .etc/                 the sandbox's /etc/passwd and /etc/group
  executed/             the executed notebook, saved by the engine after every paragraph
  .<kernel>-kernel/     a kernel's spec, connection file and log (never inside the sandbox
                        but for the connection file)
```
The model's payload and the executed notebook live outside `work/`: user code can
neither change what the engine reads nor plant a link where the engine writes. Whatever
is under `work/` may be a symbolic link placed by user code, and is read as such (see
`regular_files`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFIX = "jm-env-"


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def input_dir(self) -> Path:
        return self.workdir / "input"

    @property
    def output_dir(self) -> Path:
        return self.workdir / "output"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def executed_dir(self) -> Path:
        return self.root / "executed"

    @property
    def etc_dir(self) -> Path:
        return self.root / ".etc"

    def kernel_dir(self, name: str) -> Path:
        return self.root / f".{name}-kernel"

    def create(self) -> None:
        """Make the folders a run needs (the root exists already)."""
        for folder in (self.input_dir, self.output_dir, self.tmp_dir, self.executed_dir):
            folder.mkdir(parents=True, exist_ok=True)


def regular_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """`(relative path, path)` of every regular file under `folder`, sorted, never through
    a symbolic link: user code may have planted links to the service's own files, and the
    service must not read (and upload) what they point to. Read the files only once the
    environment's processes are gone, so that nothing can swap a file for a link."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return
    except FileNotFoundError:
        return
    found = []
    for parent, _folders, names in os.walk(folder, followlinks=False):
        for name in names:
            path = Path(parent) / name
            if stat.S_ISREG(os.lstat(path).st_mode):
                found.append((path.relative_to(folder).as_posix(), path))
    yield from sorted(found)


def open_regular(path: Path) -> int:
    """A read-only descriptor of `path`, refusing a symbolic link."""
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
