"""Run a Zeppelin note paragraph by paragraph, saving it as Zeppelin would after each one.

By default, unlike Zeppelin's "run all" but as the Insights Hub job manager does (SPEC
§1), a failed paragraph does not end the run: the others still run and the run's outcome
is FAILED; with `stop_on_error` the run ends there, as Zeppelin's does. A stop request or
the deadline ends the run: the interrupted paragraph is ABORT and the paragraphs after it
keep their previous state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobmanager.engine.control import Control, ExecStatus, StopSignal
from jobmanager.engine.forms import FormUse
from jobmanager.engine.interpreters import resolve
from jobmanager.engine.note import (
    NOTE_KEY_ORDER,
    Note,
    ParsedText,
    load_note,
    now_string,
    parse_paragraph_text,
)
from jobmanager.engine.note import set_in_order as set_key
from jobmanager.engine.paragraphs import ParagraphRun, ParagraphRunner, paragraph_context
from jobmanager.engine.result import (
    Failure,
    Output,
    OutputCallback,
    Progress,
    RunResult,
    StepEnd,
    StepEndCallback,
    ended_result,
    finished_result,
    first_line,
    last_text_line,
    replay_failed,
)
from jobmanager.engine.runner_environment import RunnerEnvironment

_STATUS = {
    ExecStatus.OK: "FINISHED",
    ExecStatus.ERROR: "ERROR",
    ExecStatus.DIED: "ERROR",
    ExecStatus.INTERRUPTED: "ABORT",
    ExecStatus.UNRESPONSIVE: "ABORT",
}


def _label(index: int, total: int, paragraph: Mapping[str, Any]) -> str:
    title = paragraph.get("title")
    return f"paragraph {index} of {total}" + (f' "{title}"' if title else "")


def _title(paragraph: Mapping[str, Any], script: str) -> str:
    """What progress reports call a paragraph: its title, else its first code line."""
    if paragraph.get("title"):
        return str(paragraph["title"])
    return first_line(script)


def _detail(run: ParagraphRun) -> str:
    """The last line of the paragraph's last text output (usually the error)."""
    for message in reversed(run.collector.messages()):
        lines = [line for line in message["data"].splitlines() if line.strip()]
        if message["type"] == "TEXT" and lines:
            return lines[-1].strip()[:300]
    return "see its output"


def _summary(run: ParagraphRun, status: str) -> str:
    """A line about the paragraph's result: the error, or its last text line, or the
    kinds of its results."""
    if status == "ERROR":
        return _detail(run)
    messages = run.collector.messages()
    texts = [m["data"] for m in messages if m["type"] == "TEXT"]
    return last_text_line(texts) or ", ".join(m["type"] for m in messages)


class NoteRun:
    """One run of a note; `run()` returns the result."""

    def __init__(
        self,
        env: RunnerEnvironment,
        note: Note,
        executed_path: Path,
        parameters: Mapping[str, Any],
        control: Control,
        on_progress: Callable[[Progress], None] | None,
        stop_on_error: bool = False,
        on_output: OutputCallback | None = None,
        on_step_end: StepEndCallback | None = None,
        replay_before: int = 0,
    ) -> None:
        self.note = note
        self.replay_before = replay_before
        self.replayed: list[int] = []
        self.on_output = on_output
        self.on_step_end = on_step_end
        self.stop_on_error = stop_on_error
        self.executed_path = executed_path
        self.parameters = dict(parameters)
        self.control = control
        self.on_progress = on_progress
        note_params = {**(note.data.get("noteParams") or {}), **self.parameters}
        self.runner = ParagraphRunner(env, control, note_params)
        self.env = env

    def run(self) -> RunResult:
        result = self._run_all()
        return dataclasses.replace(result, replayed=tuple(self.replayed))

    def _run_all(self) -> RunResult:
        paragraphs = self.note.paragraphs
        total = len(paragraphs)
        failures: list[Failure] = []
        self.note.save(self.executed_path)
        for index, paragraph in enumerate(paragraphs, start=1):
            if self.control.reason() is not None:
                where = f"before {_label(index, total, paragraph)}"
                return ended_result(self.control, where, self.executed_path)
            if index < self.replay_before:
                ended = self._replay(index, total, paragraph)
                if ended is not None:
                    return ended
                continue
            status = self._run_paragraph(index, total, paragraph, failures)
            if status is not None:
                self.note.save(self.executed_path)
            if status == "ABORT" or self.control.limit_hit():
                where = f"during {_label(index, total, paragraph)}"
                return ended_result(self.control, where, self.executed_path)
            if status == "ERROR" and self.stop_on_error:
                break
        return finished_result(failures, total, "paragraphs", self.executed_path)

    def _replay(self, index: int, total: int, paragraph: dict[str, Any]) -> RunResult | None:
        """Run a paragraph again only for the kernel's state: its output is dropped and
        its earlier results stay in the note. A result when the replay ended the run."""
        config = paragraph.get("config") or {}
        parsed = parse_paragraph_text(paragraph.get("text"))
        if config.get("enabled", True) is False or parsed.is_blank:
            return None
        if self.on_progress is not None:
            self.on_progress(Progress(index, total, _title(paragraph, parsed.script)))
        params = self.parameters or dict((paragraph.get("settings") or {}).get("params") or {})
        self.runner.tap = None
        run = self._run_script(paragraph, parsed, params)
        self.replayed.append(index)
        label = _label(index, total, paragraph)
        if _STATUS[run.status] == "ABORT" or self.control.limit_hit():
            return ended_result(self.control, f"while replaying {label}", self.executed_path)
        if _STATUS[run.status] == "ERROR":
            return replay_failed(label, _detail(run), self.executed_path)
        return None

    def _run_paragraph(
        self, index: int, total: int, paragraph: dict[str, Any], failures: list[Failure]
    ) -> str | None:
        config = paragraph.get("config") or {}
        if config.get("enabled", True) is False:
            return None
        parsed = parse_paragraph_text(paragraph.get("text"))
        if self.on_progress is not None:
            self.on_progress(Progress(index, total, _title(paragraph, parsed.script)))
        if parsed.is_blank and config.get("checkEmpty", True) is not False:
            paragraph.pop("results", None)  # Zeppelin clears the result, then skips
            set_key(paragraph, "status", "FINISHED")
            self._ended(StepEnd(index, total, "FINISHED", ""))
            return "FINISHED"
        set_key(paragraph, "dateStarted", now_string())
        if not isinstance(paragraph.get("settings"), dict):
            set_key(paragraph, "settings", {"params": {}, "forms": {}})
        # Like Zeppelin's run-all with params: they replace the paragraph's for the run.
        params = self.parameters or dict(paragraph["settings"].get("params") or {})
        self.runner.tap = self._tap(index)
        run = self._run_script(paragraph, parsed, params)
        self._record(paragraph, run)
        status = _STATUS[run.status]
        if status == "ERROR":
            failures.append(Failure(index, _label(index, total, paragraph), _detail(run)))
        self._ended(StepEnd(index, total, status, _summary(run, status)))
        return status

    def _run_script(
        self, paragraph: dict[str, Any], parsed: ParsedText, params: Mapping[str, Any]
    ) -> ParagraphRun:
        resolved = resolve(parsed.prefix, self.note.default_group)
        context = paragraph_context(self.note.data, paragraph, resolved, parsed)
        return self.runner.run(resolved, parsed, params, context)

    def _tap(self, index: int) -> Callable[[str, str], None] | None:
        """What passes paragraph `index`'s output on to `on_output` as it comes."""
        on_output = self.on_output
        if on_output is None:
            return None
        return lambda stream, text: on_output(Output(index, stream, text))

    def _ended(self, end: StepEnd) -> None:
        if self.on_step_end is not None:
            self.on_step_end(end)

    def _record(self, paragraph: dict[str, Any], run: ParagraphRun) -> None:
        """Write results, forms, dates and status into the paragraph, in Gson's key order."""
        settings = paragraph["settings"]
        settings["forms"] = {u.name: u.form for u in run.forms if not u.note_scope}
        for use in run.forms:
            if use.note_scope:
                self._note_form(use)
        # Values the run used are kept only when it had no parameters: with parameters,
        # Zeppelin restores each paragraph's params after the run (`Note.runAllSync`).
        if not self.parameters:
            params = dict(settings.get("params") or {})
            params.update({u.name: u.value for u in run.forms if u.record and not u.note_scope})
            settings["params"] = params
        code = "SUCCESS" if run.status is ExecStatus.OK else "ERROR"
        set_key(paragraph, "results", {"code": code, "msg": run.collector.messages()})
        set_key(paragraph, "dateFinished", now_string())
        set_key(paragraph, "status", _STATUS[run.status])

    def _note_form(self, use: FormUse) -> None:
        """A note-scope form joins `noteForms` unless one of its name is there."""
        data = self.note.data
        for key in ("noteForms", "noteParams"):
            if not isinstance(data.get(key), dict):
                set_key(data, key, {}, NOTE_KEY_ORDER)
        data["noteForms"].setdefault(use.name, use.form)
        if use.record and not self.parameters:
            data["noteParams"][use.name] = use.value


def run_note(
    env: RunnerEnvironment,
    model: Path,
    executed_path: Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    stop: StopSignal | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    grace: float = 5.0,
    breach: Callable[[], str | None] | None = None,
    stop_on_error: bool = False,
    on_output: OutputCallback | None = None,
    on_step_end: StepEndCallback | None = None,
    replay_before: int = 0,
    note_metadata: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run the note at `model` in `env`; the executed note is saved to `executed_path`.

    Paragraphs before number `replay_before` are replayed (see `NoteRun._replay`);
    `note_metadata` goes into the executed note's `info.jobmanager`."""
    note = load_note(model)
    if note_metadata:
        if not isinstance(note.data.get("info"), dict):
            set_key(note.data, "info", {}, NOTE_KEY_ORDER)
        note.data["info"]["jobmanager"] = dict(note_metadata)
    control = Control(stop=stop, deadline=deadline, grace=grace, breach=breach)
    run = NoteRun(
        env,
        note,
        executed_path,
        parameters or {},
        control,
        on_progress,
        stop_on_error,
        on_output=on_output,
        on_step_end=on_step_end,
        replay_before=replay_before,
    )
    return run.run()
