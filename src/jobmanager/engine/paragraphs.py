"""Run one Zeppelin paragraph on an environment: each interpreter and its output mapping."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobmanager.engine import forms, markdown, spark
from jobmanager.engine.control import Control, ExecStatus
from jobmanager.engine.interpreters import Executor, Resolved
from jobmanager.engine.kernel import KernelError
from jobmanager.engine.kernel_runtime import CONTEXT_METADATA, ENGINE_MIME
from jobmanager.engine.note import ParsedText
from jobmanager.engine.notebook import literal
from jobmanager.engine.output import ResultCollector
from jobmanager.engine.runner_environment import RUNTIME_MODULE, RunnerEnvironment
from jobmanager.engine.shell import run_shell

_RICH_TYPES = (
    ("text/html", "HTML"),
    ("image/png", "IMG"),
    ("image/jpeg", "IMG"),
    ("application/javascript", "HTML"),
)
_SIMPLE_FORM_EXECUTORS = (Executor.MARKDOWN, Executor.PYTHON_SQL, Executor.SPARK_SQL)
_LOCAL = object()  # a z.put value that cannot leave its kernel
KERNEL_DIED = "The {name} kernel died (it exited, or a resource limit killed it)"


@dataclass(frozen=True)
class _Setup:
    """What a kernel paragraph is set up with: its form values and its context."""

    params: Mapping[str, Any]
    context: Mapping[str, Any]


@dataclass
class ParagraphRun:
    """Everything a paragraph's execution produced."""

    status: ExecStatus = ExecStatus.OK
    collector: ResultCollector = field(default_factory=ResultCollector)
    forms: list[forms.FormUse] = field(default_factory=list)


class SharedValues:
    """`z.put`/`z.get` across kernels: JSON values put in one kernel reach the others."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, Any]] = {}

    def put(self, kernel: str, key: str, value: Any) -> None:
        self._values[key] = (kernel, value)

    def for_kernel(self, kernel: str) -> dict[str, Any]:
        return {
            k: v for k, (owner, v) in self._values.items() if owner != kernel and v is not _LOCAL
        }


class ParagraphRunner:
    """Runs paragraphs of one note in one environment (kernels keep state between them)."""

    def __init__(
        self, env: RunnerEnvironment, control: Control, note_params: Mapping[str, Any]
    ) -> None:
        self.env = env
        self.control = control
        self.note_params = note_params
        self.shared = SharedValues()
        self.spark_started = False
        # Called with (stream, text) as the paragraph's output comes (see `Output`).
        self.tap: Callable[[str, str], None] | None = None

    def run(
        self,
        resolved: Resolved,
        parsed: ParsedText,
        params: Mapping[str, Any],
        context: Mapping[str, Any],
    ) -> ParagraphRun:
        """Execute a paragraph whose form values are `params`; `context` is what
        `z.getInterpreterContext()` tells about it (see `paragraph_context`)."""
        result = ParagraphRun()
        script = parsed.script
        simple = resolved.executor in _SIMPLE_FORM_EXECUTORS or (
            resolved.executor is Executor.SHELL and parsed.local_properties.get("form") == "simple"
        )
        if simple:
            script, result.forms = forms.substitute(script, params, self.note_params)
        self._execute(resolved, script, params, result, context)
        return result

    def _execute(
        self,
        resolved: Resolved,
        script: str,
        params: Mapping[str, Any],
        result: ParagraphRun,
        context: Mapping[str, Any],
    ) -> None:
        executor = resolved.executor
        if executor is Executor.MARKDOWN:
            result.collector.add("HTML", markdown.render(script))
        elif executor is Executor.ANGULAR:
            result.collector.add("ANGULAR", script)
        elif executor is Executor.SHELL:
            self._shell(script, result)
        elif executor is Executor.SPARK_CONF:
            self._spark_conf(script, result)
        elif executor in (Executor.PYTHON, Executor.PYTHON_SQL):
            code = script if executor is Executor.PYTHON else _runtime_call("sql", script)
            self._kernel("python", code, result, _Setup(params, context))
        elif executor in (Executor.SPARK, Executor.SPARK_SQL):
            self._spark(resolved, script, result, _Setup(params, context))
        else:
            _failure(result, resolved.unsupported())

    def _spark(self, resolved: Resolved, script: str, result: ParagraphRun, setup: _Setup) -> None:
        if not self.env.has_module("pyspark"):
            message = f"{resolved.needs()} needs pyspark, which is not installed here"
            _failure(result, message[0].upper() + message[1:])
            return
        self.spark_started = True
        sql = resolved.executor is Executor.SPARK_SQL
        code = _runtime_call("spark_sql", script) if sql else script
        self._kernel("spark", code, result, setup)

    def _spark_conf(self, script: str, result: ParagraphRun) -> None:
        """`%spark.conf`: properties of the Spark session, refused once it has started
        (unless there are none: a paragraph of comments changes nothing)."""
        properties = spark.parse_properties(script)
        if properties and self.spark_started:
            _failure(result, spark.CONF_AFTER_START)
            return
        self.env.spark_conf.update(spark.session_conf(properties))

    def _shell(self, script: str, result: ParagraphRun) -> None:
        env = self.env
        # bash's stderr goes to its stdout: one stream
        stdout = None if self.tap is None else functools.partial(self.tap, "stdout")
        status, code = run_shell(
            script,
            env.cwd,
            env.process_env,
            env.confinement,
            result.collector,
            self.control,
            stdout,
        )
        result.status = status
        if code:
            result.status = ExecStatus.ERROR
            result.collector.add("TEXT", f"ExitValue: {code}")

    def _kernel(self, name: str, code: str, result: ParagraphRun, setup: _Setup) -> None:
        """Run `code` on kernel `name`, its paragraph's form values and context set first."""
        try:
            kernel = self.env.kernel(name)
        except KernelError as exc:
            _failure(result, str(exc))
            return
        begin = _runtime_call("begin", dict(setup.params), self.shared.for_kernel(name))
        prelude = "" if kernel.setup_in_effect == begin else begin

        def on_output(msg: dict[str, Any]) -> None:
            self._on_kernel_message(name, msg, result)

        def on_reply(reply: dict[str, Any]) -> None:
            _write_help(reply, result.collector)

        result.status = kernel.execute(
            code,
            on_output,
            self.control,
            kill=self.env.kill_processes,
            prelude=prelude,
            on_reply=on_reply,
            metadata={CONTEXT_METADATA: dict(setup.context)},
        )
        # Forms write into the kernel's params, so the next paragraph must set them again.
        kernel.setup_in_effect = "" if result.forms else begin
        if result.status is ExecStatus.DIED:
            self.env.discard_kernel(name)
            result.collector.add("TEXT", KERNEL_DIED.format(name=name))

    def _on_kernel_message(self, kernel: str, msg: dict[str, Any], result: ParagraphRun) -> None:
        """Map an iopub message to Zeppelin output, as Zeppelin's IPython mode does."""
        kind, content = msg["msg_type"], msg["content"]
        collector = result.collector
        self._tap_kernel_message(kind, content)
        if kind == "stream":
            collector.write_text(content["text"])
        elif kind in ("display_data", "execute_result"):
            data = content.get("data", {})
            if ENGINE_MIME in data:
                self._on_engine_event(kernel, data[ENGINE_MIME], result)
                return
            for mime, type_ in _RICH_TYPES:
                if mime in data:
                    value = str(data[mime])
                    if type_ == "IMG":
                        value = value.replace("\n", "")
                    elif mime == "application/javascript":
                        value = f"<script>{value}</script>"
                    collector.add(type_, value)
                    return
            if "text/plain" in data:
                collector.write_text(str(data["text/plain"]))
        elif kind == "error":
            collector.write_text("\n".join(content.get("traceback", [])))
        elif kind == "clear_output":
            collector.clear()

    def _tap_kernel_message(self, kind: str, content: dict[str, Any]) -> None:
        """Pass what a user would see of an iopub message on to `tap`."""
        if self.tap is None:
            return
        if kind == "stream":
            self.tap(str(content.get("name", "stdout")), str(content["text"]))
        elif kind == "error":
            self.tap("stderr", "\n".join(content.get("traceback", [])) + "\n")
        elif kind in ("display_data", "execute_result"):
            text = display_text(content.get("data", {}))
            if text:
                self.tap("result", text)

    def _on_engine_event(self, kernel: str, event: dict[str, Any], result: ParagraphRun) -> None:
        op = event.get("op")
        if op == "form":
            form = event["form"]
            use = forms.FormUse(False, form["name"], form, event["value"], event["record"])
            result.forms.append(use)
        elif op == "put":
            self.shared.put(kernel, event["key"], _LOCAL if event.get("local") else event["value"])


def _write_help(reply: Mapping[str, Any], collector: ResultCollector) -> None:
    """The pager payloads of an execute reply (help: `name?`), after everything else the
    paragraph wrote, as Zeppelin's `kernel_server.py` sends them: their plain texts
    joined by newlines, ANSI colours kept, as one more text."""
    texts = [
        str(p["data"]["text/plain"])
        for p in reply.get("payload") or []
        if isinstance(p.get("data"), dict) and p["data"].get("text/plain")
    ]
    if texts:
        collector.write_text("\n".join(texts))


def paragraph_context(
    note: Mapping[str, Any], paragraph: Mapping[str, Any], resolved: Resolved, parsed: ParsedText
) -> dict[str, Any]:
    """What `Paragraph.getInterpreterContext` gives a paragraph's `InterpreterContext`."""
    return {
        "noteId": note.get("id"),
        "noteName": note.get("name"),
        "paragraphId": paragraph.get("id"),
        "paragraphText": paragraph.get("text"),
        "paragraphTitle": paragraph.get("title"),
        "replName": resolved.full_name.split(".")[0],
        "localProperties": dict(parsed.local_properties),
        "config": dict(paragraph.get("config") or {}),
        "user": paragraph.get("user") or "anonymous",
    }


def display_text(data: Mapping[str, Any]) -> str:
    """A displayed value as text: its plain form, else the kind of what it is (an image
    or HTML says nothing in a log); "" for the engine's own reports."""
    if ENGINE_MIME in data:
        return ""
    if "text/plain" in data:
        return str(data["text/plain"]) + "\n"
    return next((f"<{mime}>\n" for mime in data), "")


def _runtime_call(method: str, *args: Any) -> str:
    """Code calling the kernel-side runtime (installed by the environment); the arguments
    are JSON values, written as Python (NaN and infinities as `float('nan')`...)."""
    rendered = ", ".join(literal(a) for a in args)
    return f"__import__({RUNTIME_MODULE!r}).RUNTIME.{method}({rendered})"


def _failure(result: ParagraphRun, message: str) -> ParagraphRun:
    result.status = ExecStatus.ERROR
    result.collector.add("TEXT", message)
    return result
