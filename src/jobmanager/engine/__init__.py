"""The execution engine: environments (workdir + kernels + limits) and note runners.

It imports nothing else from jobmanager; callers give it a model file, folders,
parameters, a deadline and callbacks. See docs/engine.md.
"""

from jobmanager.engine.confinement import Limits
from jobmanager.engine.control import Outcome
from jobmanager.engine.environment import Environment, EnvironmentSpec
from jobmanager.engine.jupyter import CELL_OUTPUT_LIMIT, run_notebook
from jobmanager.engine.kernel import KernelError
from jobmanager.engine.note import Note, NoteFormatError, load_note, model_kind
from jobmanager.engine.output import OUTPUT_LIMIT
from jobmanager.engine.result import Output, Progress, RunResult, StepEnd
from jobmanager.engine.watchdog import DISK_FULL
from jobmanager.engine.zeppelin import run_note

# What the executed model keeps of one paragraph's (or cell's) output, by model kind.
STEP_OUTPUT_LIMITS = {"zeppelin": OUTPUT_LIMIT, "jupyter": CELL_OUTPUT_LIMIT}

__all__ = [
    "DISK_FULL",
    "STEP_OUTPUT_LIMITS",
    "Environment",
    "EnvironmentSpec",
    "KernelError",
    "Limits",
    "Note",
    "NoteFormatError",
    "Outcome",
    "Output",
    "Progress",
    "RunResult",
    "StepEnd",
    "load_note",
    "model_kind",
    "run_note",
    "run_notebook",
]
