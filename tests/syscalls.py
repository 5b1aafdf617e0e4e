"""Code a job runs to try each system call the sandbox's seccomp filter denies, by number
(libseccomp tells the numbers of this machine): it prints `name: errno` for each, and
`filter: <Seccomp mode> <filters>` from /proc/self/status."""

from __future__ import annotations

import pyseccomp

from jobmanager.engine.seccomp import DENIED, NEW_NAMESPACE_FLAGS

SIGCHLD = 17


def attempts() -> dict[str, tuple[int, int]]:
    """Each denied call and a first argument to try it with: every one with 0, and
    `clone` once per namespace flag (with SIGCHLD, as a fork would)."""
    number = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) for name in DENIED}
    tried = {name: (number[name], 0) for name in DENIED}
    clone = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, "clone")
    for flag in NEW_NAMESPACE_FLAGS:
        tried[f"clone {flag:#x}"] = (clone, flag | SIGCHLD)
    tried["clone3"] = (pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, "clone3"), 0)
    return tried


def code() -> str:
    """Python trying every call of `attempts`; a child a call made by mistake exits."""
    return (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        "def attempt(number, first):\n"
        "    ctypes.set_errno(0)\n"
        "    answer = libc.syscall(ctypes.c_long(number), ctypes.c_long(first), 0, 0, 0, 0)\n"
        "    if answer == 0 and first & 0x11 == 0x11:\n"
        "        os._exit(0)  # a clone that was let through: the child leaves at once\n"
        "    return ctypes.get_errno() if answer == -1 else f'answered {answer}'\n"
        f"for name, (number, first) in {attempts()!r}.items():\n"
        "    print(name, attempt(number, first), sep=': ')\n"
        "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "print('filter', status['Seccomp'].split()[0], status['Seccomp_filters'].split()[0])\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    os._exit(7)\n"
        "print('fork', os.waitpid(pid, 0)[1] >> 8, sep=': ')\n"
    )


def check(printed: str) -> None:
    """Every call denied (EPERM; clone3 ENOSYS), the filter on, and a fork still works."""
    found = dict(line.split(": ", 1) for line in printed.splitlines() if ": " in line)
    expected = {name: "1" for name in attempts()}
    expected["clone3"] = "38"
    assert {name: found.get(name) for name in expected} == expected, found
    filtered = [line.split()[1:] for line in printed.splitlines() if line.startswith("filter ")]
    assert filtered and filtered[0][0] == "2" and int(filtered[0][1]) >= 1, printed
    assert found["fork"] == "7"
