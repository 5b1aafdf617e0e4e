"""The execution engine: environments (workdir + kernels + limits) and note runners.

It imports nothing else from jobmanager; callers give it a model file, folders,
parameters, a deadline and callbacks. See docs/engine.md.
"""

from jobmanager.engine.confinement import Limits
from jobmanager.engine.control import StopReason
from jobmanager.engine.environment import Environment, EnvironmentSpec
from jobmanager.engine.jupyter import run_notebook
from jobmanager.engine.kernel import KernelError
from jobmanager.engine.note import Note, NoteFormatError, load_note, model_kind
from jobmanager.engine.result import Outcome, Progress, RunResult
from jobmanager.engine.zeppelin import run_note

__all__ = [
    "Environment",
    "EnvironmentSpec",
    "KernelError",
    "Limits",
    "Note",
    "NoteFormatError",
    "Outcome",
    "Progress",
    "RunResult",
    "StopReason",
    "load_note",
    "model_kind",
    "run_note",
    "run_notebook",
]
