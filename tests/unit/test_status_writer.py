"""One status writer (docs/architecture.md): only `store.jobs.transition_in` changes a job's
`status`, so every change is a compare-and-set checked against the state machine.

The test reads the service's source. It finds every statement that can set `jobs.status`:
an UPDATE or INSERT of `Job` whose values name `status` (or splat a mapping that could),
a `Job(...)` row made with a status, raw SQL that updates it, and any assignment to a
`.status` attribute in a module that holds `Job` rows. Each must be one of those listed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jobmanager
from jobmanager.store.jobs import ACCOUNTING_FIELDS

SOURCE = Path(jobmanager.__file__).parent
RAW_STATUS_UPDATE = re.compile(r"\bupdate\s+jobs\b.*\bstatus\b", re.IGNORECASE | re.DOTALL)

# Where a job's status may be written, and why.
JOB_STATUS_WRITERS = {
    ("store/jobs.py", "transition_in"): "the compare-and-set",
    ("store/jobs.py", "JobRepository.insert"): "a new job is inserted SUBMITTED",
}
# `**mapping` writes whose names are checked against a list of fields: safe while the
# list does not hold `status` (the test below checks that it does not).
CHECKED_SPLATS = {
    ("store/jobs.py", "JobRepository.record_accounting"): ACCOUNTING_FIELDS,
}
# Assignments to `.status` in modules that hold `Job` rows, on rows that are not jobs.
OTHER_STATUS_ASSIGNMENTS = {
    ("store/schedules.py", "ScheduleRepository.start"): "a schedule's status",
    ("store/schedules.py", "ScheduleRepository.stop"): "a schedule's status",
    ("store/deliveries.py", "DeliveryRepository.record_attempt"): "a webhook delivery's status",
}


@dataclass(frozen=True)
class Write:
    module: str
    function: str
    line: int
    kind: str

    @property
    def place(self) -> tuple[str, str]:
        return (self.module, self.function)


class StatusWrites(ast.NodeVisitor):
    """The writes of one module, each with the function (Class.method) it is in."""

    def __init__(self, module: str, tree: ast.Module) -> None:
        self.module = module
        self.holds_jobs = _imports_job_table(tree)
        self.scope: list[str] = []
        self.found: list[Write] = []
        self.visit(tree)

    def _record(self, node: ast.AST, kind: str) -> None:
        line = getattr(node, "lineno", 0)
        self.found.append(Write(self.module, ".".join(self.scope), line, kind))

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scoped

    def visit_Call(self, node: ast.Call) -> None:
        if _is_name(node.func, "Job") and _sets_status(node):
            self._record(node, "Job(status=...)")
        if _is_values_call(node) and _sets_status(node) and _statement_on_job(node.func):
            self._record(node, "update/insert(Job).values(status=...)")
        if _is_name(node.func, "setattr") and self.holds_jobs and _names_status(node.args[1:2]):
            self._record(node, "setattr(..., 'status', ...)")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)  # a bare string is a docstring, not SQL that runs

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and RAW_STATUS_UPDATE.search(node.value):
            self._record(node, "raw SQL")

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assignments(node.targets, node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assignments([node.target], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assignments([node.target], node)

    def _assignments(self, targets: list[ast.expr], node: ast.stmt) -> None:
        for target in _flattened(targets):
            if self.holds_jobs and isinstance(target, ast.Attribute) and target.attr == "status":
                self._record(node, ".status = ...")
        self.generic_visit(node)


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _names_status(nodes: list[ast.expr]) -> bool:
    return any(isinstance(n, ast.Constant) and n.value == "status" for n in nodes)


def _is_values_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr == "values"


def _sets_status(call: ast.Call) -> bool:
    """A keyword `status`, a `**mapping`, or a dict argument with a "status" key."""
    if any(k.arg in ("status", None) for k in call.keywords):
        return True
    dicts = [a for a in call.args if isinstance(a, ast.Dict)]
    return any(_names_status([k for k in d.keys if k is not None]) for d in dicts)


def _statement_on_job(node: ast.expr) -> bool:
    """Whether a method chain starts with `update(Job)` or `insert(Job)`."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            if any(_is_name(node.func, name) for name in ("update", "insert")):
                return bool(node.args) and _is_name(node.args[0], "Job")
            node = node.func
        else:
            node = node.value
    return False


def _imports_job_table(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "jobmanager.store.tables"
        and any(alias.name == "Job" for alias in node.names)
        for node in ast.walk(tree)
    )


def _flattened(targets: list[ast.expr]) -> Iterator[ast.expr]:
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            yield from _flattened(list(target.elts))
        else:
            yield target


def all_writes() -> list[Write]:
    found: list[Write] = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = path.relative_to(SOURCE).as_posix()
        found.extend(StatusWrites(module, ast.parse(path.read_text(), str(path))).found)
    return found


def test_only_transition_in_changes_a_jobs_status() -> None:
    writes = all_writes()
    job_writes = [w for w in writes if w.kind != ".status = ..."]
    assignments = [w for w in writes if w.kind == ".status = ..."]
    unchecked = [w for w in job_writes if w.place not in CHECKED_SPLATS]
    assert {w.place for w in unchecked} == set(JOB_STATUS_WRITERS), unchecked
    for place, fields in CHECKED_SPLATS.items():
        assert "status" not in fields, f"{place} could write a job's status"
    assert {w.place for w in assignments} <= set(OTHER_STATUS_ASSIGNMENTS), assignments


def test_the_scan_finds_each_kind_of_write() -> None:
    source = """
from jobmanager.store.tables import Job

def sneaky(session, row, values):
    session.execute(update(Job).where(Job.id == 1).values(status="FAILED"))
    session.execute(update(Job).values(**values))
    session.execute(update(Job).values({"status": "FAILED"}))
    session.add(Job(status="RUNNING"))
    session.execute(text("UPDATE jobs SET status = 'FAILED'"))
    row.status = "FAILED"
    setattr(row, "status", "FAILED")
    session.execute(update(Schedule).values(status="STOPPED"))
"""
    kinds = [w.kind for w in StatusWrites("x.py", ast.parse(source)).found]
    assert kinds == [
        "update/insert(Job).values(status=...)",
        "update/insert(Job).values(status=...)",
        "update/insert(Job).values(status=...)",
        "Job(status=...)",
        "raw SQL",
        ".status = ...",
        "setattr(..., 'status', ...)",
    ]
