"""The doctor's cluster checks, read from the members the processes record
(`store/members.py`): the API replicas agree on the signing key and the public URL (a
warning when this host's differ), and a worker is up when jobs go through the broker —
said at once, not after the trivial job's timeout."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from jobmanager.auth.keys import signing_key_id
from jobmanager.cli.doctor_findings import CheckFailed, CheckWarned, Findings
from jobmanager.common.home import keys_folder
from jobmanager.store.members import MemberRecord, MemberRepository
from jobmanager.store.types import utcnow

WORKER_GRACE_SECONDS = 5.0  # a worker started just before doctor: its first word


def check_replicas(findings: Findings) -> str:
    settings = findings.settings
    if settings.is_embedded:
        return "not a cluster: the embedded default is one process"
    replicas = [m for m in _alive(findings) if m.kind == "api"]
    if not replicas:
        raise CheckWarned(
            f"no API replica seen in the last {_timeout(findings):.0f} s: nothing to compare "
            "(run doctor again once they run)"
        )
    _agree("sign tokens with different keys", replicas, lambda m: m.key_id, _KEYS_HINT)
    _agree("name different public URLs", replicas, lambda m: m.public_url, _URL_HINT)
    key, url = replicas[0].key_id, replicas[0].public_url
    said = f"{len(replicas)} seen, all sign tokens with {key} and name {_shown(url)}"
    here = _differs_here(findings, key, url)
    if here:
        raise CheckWarned(f"{said}; but {here}")
    return said


def check_workers(findings: Findings) -> str:
    if findings.settings.dispatch != "celery":
        return "not used: jobs run in the service's own slots (JOBMANAGER_DISPATCH=local)"
    deadline = time.monotonic() + WORKER_GRACE_SECONDS
    while True:
        workers = [m for m in _alive(findings) if m.kind == "worker"]
        if workers or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if not workers:
        raise CheckFailed(
            f"no worker is up: none was seen in the last {_timeout(findings):.0f} s. Start "
            "`jobmanager worker` (with this database and broker) and run doctor again"
        )
    hosts = sorted({m.host for m in workers})
    return f"{len(workers)} up, on {', '.join(hosts)}"


_KEYS_HINT = (
    "Tokens one replica signs fail on the others: copy one replica's keys/ folder to every "
    "replica (docs/deploy.md) and restart them"
)
_URL_HINT = "Set the same JOBMANAGER_PUBLIC_URL on every replica (and here) and restart them"


def _agree(
    differ: str,
    replicas: list[MemberRecord],
    value: Callable[[MemberRecord], str | None],
    hint: str,
) -> None:
    """CheckFailed naming the groups of replicas when they differ in `value`."""
    groups: dict[str | None, list[str]] = defaultdict(list)
    for replica in replicas:
        groups[value(replica)].append(replica.id)
    if len(groups) > 1:
        said = "; ".join(f"{_shown(v)}: {', '.join(ids)}" for v, ids in groups.items())
        raise CheckFailed(f"the replicas {differ} ({said}). {hint}")


def _differs_here(findings: Findings, key: str | None, url: str | None) -> str:
    """What this host has otherwise than the replicas (a worker host's own keys are not
    used, so a warning: it matters only where a replica runs)."""
    settings = findings.settings
    local_key = signing_key_id(keys_folder(settings.home))
    differs = []
    if local_key is not None and local_key != key:
        differs.append(
            f"this host's keys/ holds {local_key}: if a replica runs here, copy the "
            "replicas' keys/ to it"
        )
    if settings.public_url is not None and settings.public_url != url:
        differs.append(f"this host's JOBMANAGER_PUBLIC_URL is {settings.public_url}")
    return "; ".join(differs)


def _alive(findings: Findings) -> list[MemberRecord]:
    assert findings.database is not None
    since = utcnow() - timedelta(seconds=_timeout(findings))
    return MemberRepository(findings.database).alive(since)


def _timeout(findings: Findings) -> float:
    return findings.settings.heartbeat_timeout_seconds


def _shown(value: str | None) -> str:
    return "no public URL" if value is None else value
