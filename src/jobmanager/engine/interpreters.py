"""Resolve a paragraph's `%prefix` to the executor that runs it, by Zeppelin's rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Interpreters of each group, default first (each group's interpreter-setting.json).
GROUPS: dict[str, tuple[str, ...]] = {
    "python": ("python", "ipython", "sql", "conda", "docker"),
    "spark": ("spark", "sql", "pyspark", "ipyspark", "r", "ir", "shiny", "kotlin"),
    "sh": ("sh", "terminal"),
    "md": ("md",),
    "angular": ("angular",),
    "jdbc": ("jdbc",),
    "r": ("r", "ir", "shiny"),
}


_SPARK_PYTHON = ("pyspark", "ipyspark")


class Executor(enum.Enum):
    PYTHON = "python"  # the environment's Python kernel
    PYTHON_SQL = "python_sql"  # SQL over the Python kernel's pandas DataFrames
    SPARK = "spark"  # the PySpark kernel
    SPARK_SQL = "spark_sql"
    SHELL = "shell"
    MARKDOWN = "markdown"
    UNSUPPORTED = "unsupported"


_EXECUTORS = {
    "python.python": Executor.PYTHON,
    "python.ipython": Executor.PYTHON,
    "python.sql": Executor.PYTHON_SQL,
    "spark.pyspark": Executor.SPARK,
    "spark.ipyspark": Executor.SPARK,
    "spark.sql": Executor.SPARK_SQL,
    "sh.sh": Executor.SHELL,
    "md.md": Executor.MARKDOWN,
}


@dataclass(frozen=True)
class Resolved:
    """`name` is what an error message calls the interpreter (the prefix as written)."""

    executor: Executor
    name: str
    full_name: str


def _full_name(prefix: str, default_group: str) -> str:
    """`group.interpreter` for a prefix, as Zeppelin's InterpreterFactory resolves it."""
    if not prefix:
        group = default_group
        return f"{group}.{GROUPS.get(group, (group,))[0]}"
    if "." in prefix:
        return prefix
    if prefix in GROUPS.get(default_group, ()):
        return f"{default_group}.{prefix}"
    if prefix in _SPARK_PYTHON:
        return f"spark.{prefix}"  # no group of that name: `%pyspark` means Spark's anywhere
    return f"{prefix}.{GROUPS.get(prefix, (prefix,))[0]}"


def resolve(prefix: str, default_group: str) -> Resolved:
    """Resolve `prefix` ("" for none) in a note whose default group is `default_group`."""
    full = _full_name(prefix, default_group)
    executor = _EXECUTORS.get(full, Executor.UNSUPPORTED)
    return Resolved(executor, prefix or full, full)
