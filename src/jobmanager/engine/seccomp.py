"""The system calls no notebook needs, denied in every sandbox: a seccomp filter that
bubblewrap loads (`--seccomp FD`) just before it starts the sandbox's command.

What it denies follows the default profiles of container runtimes: loading or replacing
the kernel and its modules, BPF programs, performance counters, `userfaultfd` (a common
exploit tool), the kernel keyring, mounting, changing root, tracing other processes,
new namespaces (a user namespace first of all: the way to the capabilities that turn
the rest of the kernel's surface on), `io_uring`, and handle-based file opening. A
denied call fails with EPERM, as it does for an unprivileged user: programs that probe
for a feature carry on without it. `clone3` fails with ENOSYS, since its flags are out of
a filter's reach (they sit in memory): the C library then falls back to `clone`, whose
flags the filter reads.

The filter is compiled once, by libseccomp through `pyseccomp` (ctypes, no build step),
for the machine's architecture and the ones it can also run (x86's 32-bit calls on
x86-64), so that no other system call table is a way around it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# What any of these would give a job: the host's kernel, a way out of the sandbox's
# namespaces, or another process's memory.
DENIED = (
    # the kernel itself, its modules, its clock and its power
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "acct",
    "syslog",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "quotactl",
    "uselib",
    "personality",
    # BPF programs, performance counters, page-fault handlers, io_uring
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # the kernel's keyring
    "keyctl",
    "add_key",
    "request_key",
    # the file system tree
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    # other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    # namespaces
    "unshare",
    "setns",
)
# `clone`'s flags that make a namespace (user, mount, PID, network, IPC, UTS, cgroup, time).
NEW_NAMESPACE_FLAGS = (
    0x10000000,
    0x00020000,
    0x20000000,
    0x40000000,
    0x08000000,
    0x04000000,
    0x02000000,
    0x00000080,
)
# The other system call tables a process of this architecture can use.
_COMPANIONS = {"x86_64": ("x86", "x32"), "aarch64": ("arm",)}


class SeccompUnavailable(RuntimeError):
    """libseccomp is missing: the message says what to install."""


def write_filter(path: Path) -> Path:
    """Compile the filter into `path` (a BPF program as bwrap's `--seccomp` reads it),
    replacing what was there at once; return `path`."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError) as error:  # RuntimeError: no libseccomp.so
        raise SeccompUnavailable(
            f"no seccomp filter can be built ({error}): install libseccomp2 "
            "(apt-get install libseccomp2) and the pyseccomp package"
        ) from None
    program = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in _COMPANIONS.get(os.uname().machine, ()):
        program.add_arch(getattr(seccomp.Arch, name.upper()))
    deny = seccomp.ERRNO(errno.EPERM)
    for call in DENIED:
        program.add_rule(deny, call)
    for flag in NEW_NAMESPACE_FLAGS:
        program.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(f"{path.name}.{os.getpid()}")
    with building.open("wb") as target:
        program.export_bpf(target)
    os.replace(building, path)
    return path
