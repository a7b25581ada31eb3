"""PluginAdapter: speaks the nexo plugin contract over stdin/stdout."""
from __future__ import annotations

import asyncio
import collections
import inspect
import os
import signal
import sys
import threading
from typing import Any, Awaitable, BinaryIO, Callable, Union

from .llm_provider import LlmChatContext, check_llm_chat_params, llm_error_reply
from . import errors as E
from . import stdout_guard
from .broker import BrokerSender, current_event
from .channels import extension_call, extension_error
from . import events as _events
from .events import Event, _note_host_session
from .framing import LineDecoder
from .manifest import manifest_extends_tools, read_manifest
from .tools import ToolContext, ToolDef, ToolInvocation, ToolInvocationError
from .wire import MAX_FRAME_BYTES, _encode

EventHandler = Callable[[str, Event, BrokerSender], Awaitable[None]]
ShutdownHandler = Callable[[], Awaitable[None]]
ToolHandler = Callable[[ToolInvocation], Union[Awaitable[Any], Any]]
ToolHandlerWithContext = Callable[[ToolInvocation, ToolContext], Union[Awaitable[Any], Any]]
TopicToolHandler = Callable[[Any, Event], Union[Awaitable[Any], Any]]

#: Above this many bytes queued for stdout, frames are written at once instead of at the end of the loop turn.
BATCH_BYTES = 64 * 1024
#: Above this many bytes waiting in the pipe transport, a sender waits for drain.
WRITE_HIGH_WATER = 256 * 1024
#: How long after a finished shutdown the process is ended if something (a thread, a task) still holds it.
EXIT_GRACE_SECONDS = 0.5
_PROBE_TOOL = "conformance_probe"


def _manifest_extends_tools(manifest: dict[str, Any]) -> list[str] | None:
    return manifest_extends_tools(manifest)


class _ReadProtocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        self.data_received = on_data  # type: ignore[method-assign]
        self.on_eof = on_eof

    def eof_received(self) -> None:
        self.on_eof()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.on_eof()


def _positive(name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    number_like = isinstance(value, kind) and not isinstance(value, bool)
    if not number_like or value <= 0:
        raise ValueError(f"PluginAdapter option {name} must be a positive number, got {value!r} ({type(value).__name__})")
    return value


def _takes_context(fn: Callable[..., Any]) -> bool:
    """True when a tool handler accepts (invocation, context), False for (invocation)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return any(p.kind == p.VAR_POSITIONAL for p in params) or len(positional) >= 2


def _caller(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """An async callable for a handler that may be a coroutine function or a plain one."""
    if inspect.iscoroutinefunction(fn):
        return fn

    async def call(*args: Any) -> Any:
        result = fn(*args)
        return await result if inspect.isawaitable(result) else result

    return call


class PluginAdapter:
    """Runs a plugin: answers ``initialize``, dispatches events and tool calls to your
    handlers, and shuts down cleanly on ``shutdown``, SIGTERM/SIGINT or stdin EOF (stop
    taking work, fail its own host calls, drain handlers, run ``on_shutdown``, reply,
    then exit 0 unless ``exit_on_shutdown=False``).

    Handlers may be coroutines or plain functions. Reference-SDK options:
    ``manifest_toml``, ``server_version``, ``on_event``, ``on_shutdown``, ``tools``,
    ``on_tool`` (``fn(invocation)`` or ``fn(invocation, ctx)``), ``on_tool_with_context``
    (wins over ``on_tool``), ``enable_stdout_guard``, ``max_frame_bytes``,
    ``handle_process_signals``. Nexo adds ``on_configure``, ``host_call_timeout``,
    ``max_queued_events``, ``drain_timeout``, ``ordered_events``, ``exit_on_shutdown``,
    ``channels`` (channel methods, see ``serve_channels``) and ``on_hook`` (``hook.on_hook``).

    Example:
        adapter = PluginAdapter(manifest_toml=MANIFEST, on_event=on_event)
        await adapter.run()
    """

    def __init__(self, *, manifest_toml: str, server_version: str | None = None,
                 on_event: Callable[[str, Event, BrokerSender], Any] | None = None,
                 on_shutdown: Callable[[], Any] | None = None,
                 on_configure: Callable[[Any], Any] | None = None,
                 tools: list[ToolDef | dict[str, Any]] | None = None,
                 on_tool: Callable[..., Any] | None = None,
                 on_tool_with_context: ToolHandlerWithContext | None = None,
                 enable_stdout_guard: bool = True, max_frame_bytes: int = MAX_FRAME_BYTES,
                 handle_process_signals: bool = True, host_call_timeout: float = 30.0,
                 max_queued_events: int = 10_000, drain_timeout: float = 10.0,
                 ordered_events: bool = True, exit_on_shutdown: bool = True,
                 channels: Any = None, on_hook: Callable[..., Any] | None = None, on_llm_chat: Any = None) -> None:
        self.manifest: dict[str, Any] = read_manifest(manifest_toml)
        plugin = self.manifest["plugin"]
        self.plugin_id: str = plugin["id"]
        from .state import _set_default_plugin_id

        _set_default_plugin_id(self.plugin_id)
        self.server_version = server_version or f"{self.plugin_id}-{plugin.get('version', '0.0.0')}"
        self.on_event = on_event
        self._event_call = _caller(on_event) if on_event is not None else None
        self.on_shutdown = on_shutdown
        self.on_configure = on_configure
        self.tools: list[ToolDef | dict[str, Any]] = []
        self._tool_handler: Callable[..., Awaitable[Any]] | None = None
        self._tool_with_ctx = False
        self._tool_handler_ctx_set = False
        self.enable_stdout_guard = enable_stdout_guard
        self.max_frame_bytes: int = _positive("max_frame_bytes", max_frame_bytes, int)
        self.handle_process_signals = handle_process_signals
        self.host_call_timeout: float = _positive("host_call_timeout", host_call_timeout, (int, float))
        self.max_queued_events: int = _positive("max_queued_events", max_queued_events, int)
        self.drain_timeout: float = _positive("drain_timeout", drain_timeout, (int, float))
        self.ordered_events = ordered_events
        self.exit_on_shutdown = exit_on_shutdown
        self.broker = BrokerSender(self)
        self._subscriptions: dict[str, Callable[[str, Event], Awaitable[None]]] = {}
        self._topic_tools: dict[str, TopicToolHandler] = {}
        self._pending: dict[int, tuple[asyncio.Future[Any], Callable[[Any], None] | None]] = {}
        self._next_id = 1
        self._started = False
        self._running = False
        self._out_parts: list[str] = []
        self._out_chars = 0
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out: BinaryIO | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._events: collections.deque[tuple[str, Event, str | None]] = collections.deque()
        self._events_wake: asyncio.Future[None] | None = None
        self._events_busy = 0
        self._events_idle: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._late_replies: set[asyncio.Task[Any]] = set()
        self._shutting_down = asyncio.Event()
        self._stopping = False  # mirrors _shutting_down for the hot path (a plain attribute read)
        self._shutdown_task: asyncio.Task[None] | None = None
        self._finished: asyncio.Future[None] | None = None
        self.events_dropped = 0
        self._channels: Any = channels
        self._hook_handler: Callable[..., Any] | None = on_hook
        self._served: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._llm_chat: Callable[..., Awaitable[Any]] | None = None
        if on_llm_chat is not None:
            self.on_llm_chat(on_llm_chat)
        if tools:
            self.declare_tools(tools)
        if on_tool is not None:
            self.on_tool(on_tool)
        if on_tool_with_context is not None:
            self.on_tool_with_context(on_tool_with_context)

    # ---- registration --------------------------------------------------------------------

    def declare_tools(self, tools: list[ToolDef | dict[str, Any]]) -> "PluginAdapter":
        """Set the tool catalogue advertised in ``initialize``. Every name must be in the
        manifest's ``[plugin.extends].tools`` (ManifestError otherwise, as the host would refuse it)."""
        declared = manifest_extends_tools(self.manifest) or []
        for t in tools:
            name = t.name if isinstance(t, ToolDef) else t.get("name") if isinstance(t, dict) else None
            if not isinstance(name, str):
                raise E.ManifestError(f"a tool definition must be a ToolDef or a dict with a name, got {t!r}")
            if name not in declared and name != _PROBE_TOOL:
                raise E.ManifestError(f"tool {name!r} is declared but not listed in the manifest's [plugin.extends].tools "
                                     f"({declared}); add it there")
        self.tools = list(tools)
        return self

    def on_tool(self, handler: Callable[..., Any]) -> "PluginAdapter":
        """Handle ``tool.invoke`` with ``handler(invocation)`` or ``handler(invocation, ctx)``
        (chosen by how many positional parameters it takes). ``on_tool_with_context`` wins if both are set."""
        if not self._tool_handler_ctx_set:
            self._tool_handler = _caller(handler)
            self._tool_with_ctx = _takes_context(handler)
        return self

    def on_tool_with_context(self, handler: ToolHandlerWithContext) -> "PluginAdapter":
        """Handle ``tool.invoke`` with ``handler(invocation, ctx)``; ``ctx`` is a ToolContext."""
        self._tool_handler = _caller(handler)
        self._tool_with_ctx = True
        self._tool_handler_ctx_set = True
        return self

    def serve_channels(self, handlers: Any) -> "PluginAdapter":
        """Answer ``channel.start``/``channel.stop``/``channel.send_outbound`` with ``handlers``
        (an object with ``start(kind, instance)``, ``stop(kind)``, ``send_outbound(kind, msg, instance)``,
        plain or async); see ``nexo_plugin_sdk.channels``."""
        self._channels = handlers
        return self

    def on_hook(self, handler: Callable[..., Any]) -> "PluginAdapter":
        """Answer ``hook.on_hook`` with ``handler(invocation)`` (a HookInvocation), returning a
        HookResponse dict or None (allow). Usable as a decorator."""
        self._hook_handler = handler
        return self

    def on_topic_tool(self, name: str, handler: TopicToolHandler) -> "PluginAdapter":
        """(Nexo) The topic form of a tool call: answer events on ``plugin.tool.<name>`` by
        publishing ``{result}`` (or ``{error: {code, message, data}}`` when the handler
        raises; a ToolInvocationError keeps its code, anything else is -33403) on
        ``plugin.tool.<name>.reply`` with the call's correlation id (else its id) and
        session id. Calls run concurrently."""
        self._topic_tools[f"plugin.tool.{name}"] = handler
        return self

    def on_llm_chat(self, handler: Any) -> "PluginAdapter":
        """(Nexo) Serve ``llm.chat`` for the providers the manifest lists in
        ``[plugin.extends].llm_providers``: ``handler(params, ctx)`` (sync or async) returns the
        chat response (see ``llm_text``); a streamed request sends chunks with ``ctx.emit``.
        Raise LlmProviderError for a -331xx code. Without a handler: -32601."""
        self._llm_chat = _caller(handler)
        return self

    def serve(self, method: str, handler: Callable[..., Any]) -> "PluginAdapter":
        """(Nexo) Answer a host request the SDK has no option for (e.g. a memory backend's
        ``memory.vector_upsert|search|delete``) with ``handler(params)``, sync or async. An
        exception with an integer ``code`` attribute answers that code (and its ``data``),
        anything else -32603."""
        self._served[method] = _caller(handler)
        return self

    # ---- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until shutdown; then drain and return. With ``exit_on_shutdown`` (default)
        the process then exits 0 at most EXIT_GRACE_SECONDS later, even if a thread or task
        would keep it alive. Raises PluginError when called twice."""
        if self._started:
            raise E.PluginError("PluginAdapter.run() already invoked")
        self._started = True
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._finished = loop.create_future()
        self._running = True
        self._events_idle = asyncio.Event()
        self._events_idle.set()
        # Signals first: a SIGTERM that arrives once the host has seen our first reply must drain, not kill.
        installed: list[int] = []
        if self.handle_process_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, self._on_signal, sig.name)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    self._log(f"cannot handle {sig.name} here (not the main thread?); graceful shutdown on it is off")
        self._out = stdout_guard.install_stdout_guard() if self.enable_stdout_guard else sys.stdout.buffer
        if self.enable_stdout_guard:
            stdout_guard._set_frame_sink(self._send_raw_line)
        try:
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(os.dup(self._out.fileno()), "wb"))
            self._transport = transport
            self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
        except (ValueError, OSError):
            self._writer = None  # stdout is a regular file: plain blocking writes
        decoder = LineDecoder(self.max_frame_bytes, self._dispatch, self._on_bad_line)

        def on_eof() -> None:
            decoder.end()
            self._begin_shutdown(None, "stdin closed")

        read_transport: asyncio.BaseTransport | None = None
        try:
            read_transport, _ = await loop.connect_read_pipe(lambda: _ReadProtocol(decoder.push, on_eof), os.fdopen(os.dup(0), "rb"))
        except (ValueError, OSError):
            self._spawn(self._read_with_thread(decoder, on_eof))
        # The consumer lives outside _tasks: shutdown waits for _tasks, and the consumer never ends by itself.
        consumer = asyncio.ensure_future(self._consume_events())
        try:
            await self._finished
            if self._late_replies:
                await asyncio.wait(self._late_replies, timeout=1)
                await self._flush_all()
        finally:
            consumer.cancel()
            if read_transport is not None:
                read_transport.close()
            for sig in installed:
                loop.remove_signal_handler(sig)
            if self.enable_stdout_guard:
                stdout_guard._set_frame_sink(None)
            if self.exit_on_shutdown:
                self._arm_exit()

    def _arm_exit(self) -> None:
        # run() returns so code after `await adapter.run()` still runs; but a worker thread or a
        # lingering task must not keep a shut-down plugin alive until the host kills it.
        def end() -> None:
            try:
                sys.stderr.flush()
            finally:
                os._exit(0)

        timer = threading.Timer(EXIT_GRACE_SECONDS, end)
        timer.daemon = True
        timer.start()

    def _on_signal(self, name: str) -> None:
        if self._shutdown_task is not None:
            # A second signal during the drain means "now": the operator gave up waiting.
            self._log(f"{name} again while draining; exiting without waiting")
            sys.stderr.flush()
            os._exit(1)
        self._begin_shutdown(None, name)

    async def _read_with_thread(self, decoder: LineDecoder, on_eof: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            chunk = await loop.run_in_executor(None, os.read, 0, 65536)
            if not chunk:
                on_eof()
                return
            decoder.push(chunk)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log(f"background task failed: {task.exception()!r}")

    def _log(self, message: str) -> None:
        sys.stderr.write(f"[{self.plugin_id}] {message}\n")
        sys.stderr.flush()

    @staticmethod
    def _log_plain(message: str) -> None:
        # The reference SDK's wording ("plugin: ..."), for the lines operators grep for.
        sys.stderr.write(f"plugin: {message}\n")
        sys.stderr.flush()

    # ---- writing -------------------------------------------------------------------------

    def _queue_line(self, line: str) -> None:
        """Queue one frame's text (without its newline) for stdout."""
        if not self._running:
            raise RuntimeError("PluginAdapter.run() has not started; nothing can be sent yet")
        self._out_parts.append(line)
        self._out_chars += len(line) + 1
        if self._out_chars >= BATCH_BYTES:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            # Every frame queued in this loop turn (a burst of events, their publishes and replies) shares one write.
            self._loop.call_soon(self._flush)  # type: ignore[union-attr]

    def _post(self, frame: Any) -> bool:
        """Queue one frame; True when the pipe is so full that the sender should wait for drain.
        Raises WireError when the frame is not JSON or over max_frame_bytes."""
        try:
            line = _encode(frame)
        except (TypeError, ValueError, RecursionError) as exc:
            raise E.WireError(f"frame is not JSON-serializable: {exc}") from exc
        return self._post_text(line)

    def _post_text(self, line: str) -> bool:
        """Queue one frame's JSON text; True when the sender should wait for drain."""
        # Characters x4 bound the UTF-8 size, so most frames skip the exact count.
        if len(line) * 4 > self.max_frame_bytes and len(line.encode()) > self.max_frame_bytes:
            raise E.WireError(f"frame of {len(line.encode())} bytes exceeds the {self.max_frame_bytes}-byte limit")
        self._queue_line(line)
        transport = self._transport
        return transport is not None and transport.get_write_buffer_size() > WRITE_HIGH_WATER

    async def _send(self, frame: Any, droppable: bool = False) -> None:
        """Queue one frame for stdout; a full pipe makes the caller wait for drain, so memory stays bounded."""
        if self._post(frame):
            await self._writer.drain()  # type: ignore[union-attr]

    def _send_raw_line(self, data: bytes) -> None:
        # A JSON-object line printed by plugin code: forwarded in order with the SDK's own frames.
        if self._running:
            self._queue_line(data.decode().rstrip("\n"))

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out_parts:
            return
        parts = self._out_parts
        parts.append("")  # the last frame's newline
        data = "\n".join(parts).encode()
        parts.clear()
        self._out_chars = 0
        if self._writer is not None:
            self._writer.write(data)
        elif self._out is not None:
            self._out.write(data)
            self._out.flush()

    async def _flush_all(self, limit: float = 1.0) -> None:
        """Write out everything queued before the process ends (bounded: the host may have stopped reading)."""
        self._flush()
        if self._transport is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        transport = self._transport
        while transport.get_write_buffer_size() > 0 and not transport.is_closing() and loop.time() < deadline:
            await asyncio.sleep(0.002)

    def _reply(self, id_: Any, result: Any) -> None:
        # Replies are sent synchronously (no task per reply): the frame is queued now, written with the batch.
        try:
            line = _encode({"jsonrpc": "2.0", "id": id_, "result": result})
        except (TypeError, ValueError, RecursionError) as exc:
            # A result that cannot be sent still gets an answer, so the host's call does not wait for its deadline.
            self._log(f"reply to request {id_!r} not sent: {exc}")
            self._reply_error(id_, E.TOOL_EXECUTION_FAILED, f"execution failed: result is not JSON-serializable: {exc}")
            return
        if len(line) * 4 > self.max_frame_bytes and len(line.encode()) > self.max_frame_bytes:
            size = len(line.encode())
            self._log(f"reply to request {id_!r} not sent: {size} bytes exceeds the {self.max_frame_bytes}-byte limit")
            self._reply_error(id_, E.INTERNAL_ERROR, f"reply not sent: frame of {size} bytes exceeds the {self.max_frame_bytes}-byte limit")
            return
        self._queue_line(line)

    def _reply_error(self, id_: Any, code: int, message: str, data: Any = None) -> None:
        err: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        try:
            line = _encode({"jsonrpc": "2.0", "id": id_, "error": err})
        except (TypeError, ValueError, RecursionError):
            line = _encode({"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}})
        self._queue_line(line)

    async def _request(self, method: str, params: Any, timeout: float | None = None,
                       on_delta: Callable[[Any], None] | None = None) -> Any:
        if self._shutting_down.is_set():
            raise E.RpcTransportError(f"plugin is shutting down; {method} not sent")
        id_ = self._next_id
        self._next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[id_] = (fut, on_delta)
        try:
            try:
                await self._send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
            except E.WireError:
                raise
            except Exception as exc:
                raise E.RpcTransportError(f"failed to send {method}: {exc}") from exc
            limit = self.host_call_timeout if timeout is None else timeout
            try:
                return await asyncio.wait_for(fut, limit)
            except asyncio.TimeoutError:
                raise E.RpcTimeoutError(limit, f"host did not answer {method} within {limit:g} s") from None
        finally:
            self._pending.pop(id_, None)

    # ---- reading -------------------------------------------------------------------------

    def _on_bad_line(self, kind: str, detail: str) -> None:
        # Logged and dropped, never answered: the host cannot match a reply to a line it cannot read.
        if kind == "too_large":
            if detail:
                self._log_plain(f"inbound frame {detail} bytes exceeds max_frame_bytes {self.max_frame_bytes}")
            else:
                self._log_plain(f"oversized inbound frame dropped: longer than max_frame_bytes {self.max_frame_bytes}")
        else:
            self._log_plain(f"malformed jsonrpc line: {detail}")

    def _dispatch(self, v: Any) -> None:
        if type(v) is not dict:
            self._log_plain("jsonrpc frame must be an object")
            return
        method = v.get("method")
        if method == "broker.event":
            if "id" not in v:
                self._on_event_notification(v.get("params"))
                return
        if method is None:
            rid = v.get("id")
            if rid is None:
                return
            # A response to one of our host calls; one we no longer wait for (timed out) is dropped.
            entry = self._pending.get(rid) if type(rid) is int else None
            if entry is None or entry[0].done():
                self._log_plain(f"response for unknown/expired request id {rid!r}, dropped")
                return
            err = v.get("error")
            if isinstance(err, dict):
                code = err.get("code")
                entry[0].set_exception(E.RpcServerError(code if isinstance(code, int) else E.INTERNAL_ERROR,
                                                        str(err.get("message", "host error")), err.get("data")))
            else:
                entry[0].set_result(v.get("result"))
            return
        has_id = "id" in v
        if not isinstance(method, str):
            if has_id:
                self._reply_error(v["id"], E.INVALID_REQUEST, "invalid request: method must be a string")
            return
        params = v.get("params")
        if not has_id:
            self._on_notification(method, params)
            return
        self._on_request(v["id"], method, params)

    def _on_request(self, id_: Any, method: str, params: Any) -> None:
        if self._shutting_down.is_set() and method != "shutdown":
            self._reply_error(id_, E.INTERNAL_ERROR, "plugin is shutting down")
            return
        if method == "tool.invoke":
            self._tool_invoke(id_, params)
        elif method == "initialize":
            if params is not None and not isinstance(params, dict):
                self._reply_error(id_, E.INVALID_PARAMS, "initialize params must be an object ({nexo_version} or {})")
                return
            result: dict[str, Any] = {"manifest": self.manifest, "server_version": self.server_version}
            if self.tools:
                result["tools"] = [t.to_json() if isinstance(t, ToolDef) else t for t in self.tools]
            self._reply(id_, result)
        elif method == "plugin.configure":
            if not isinstance(params, dict) or "value" not in params:
                self._reply_error(id_, E.INVALID_PARAMS, "plugin.configure params must be {value}")
                return
            self._spawn(self._configure(id_, params["value"]))
        elif method == "shutdown":
            if params is not None and not isinstance(params, dict):
                self._reply_error(id_, E.INVALID_PARAMS, "shutdown params must be {reason}")
                return
            reason = params.get("reason") if isinstance(params, dict) else None
            self._begin_shutdown(id_, str(reason or "shutdown requested"))
        elif method == "llm.chat" and self._llm_chat is not None:
            checked = check_llm_chat_params(params)
            if isinstance(checked, str):
                self._reply_error(id_, E.INVALID_PARAMS, checked)
                return
            self._spawn(self._run_llm_chat(id_, checked))
        elif method in self._served:
            self._spawn(self._run_served(id_, self._served[method], params))
        else:
            work = extension_call(method, params, self._channels, self._hook_handler, self.plugin_id)
            if work is None:
                self._reply_error(id_, E.METHOD_NOT_FOUND, f"method not found: {method}")
            else:
                self._spawn(self._run_extension(id_, work))

    async def _run_extension(self, id_: Any, work: Callable[[], Awaitable[Any]]) -> None:
        try:
            result = await work()
        except Exception as exc:
            err = extension_error(exc)
            self._reply_error(id_, err["code"], err["message"], err.get("data"))
            return
        self._reply(id_, result)

    async def _run_llm_chat(self, id_: Any, params: dict[str, Any]) -> None:
        handler = self._llm_chat
        assert handler is not None

        def emit(chunk: dict[str, Any]) -> None:
            if params["stream"]:
                self._post({"jsonrpc": "2.0", "method": "llm.chat.delta", "params": {"request_id": id_, "chunk": chunk}})

        try:
            result = await handler(params, LlmChatContext(stream=params["stream"], emit=emit))
        except Exception as exc:
            code, message, data = llm_error_reply(exc)
            self._reply_error(id_, code, message, data)
            return
        self._reply(id_, result)

    async def _run_served(self, id_: Any, handler: Callable[..., Awaitable[Any]], params: Any) -> None:
        try:
            result = await handler(params)
        except Exception as exc:
            code = getattr(exc, "code", None)
            if isinstance(code, int) and not isinstance(code, bool):
                self._reply_error(id_, code, str(exc) or repr(exc), getattr(exc, "data", None))
            else:
                self._reply_error(id_, E.INTERNAL_ERROR, str(exc) or repr(exc))
            return
        self._reply(id_, result)

    def _on_event_notification(self, params: Any) -> None:
        try:
            raw = params["event"]
        except (TypeError, KeyError, IndexError):
            raw = None
        if type(raw) is not dict:
            self._log("broker.event without an event object ignored")
            return
        if self._stopping:
            return
        event = Event.from_json(raw)
        if event.session_id is not None and not _events._host_reads_free_sessions:
            _note_host_session(event.session_id)
        topic = params.get("topic")
        if type(topic) is not str:
            topic = event.topic
        sub = params.get("subscriber_id")
        if sub is not None:
            sub = str(sub)
        elif self._topic_tools:
            tool = self._topic_tools.get(topic)
            if tool is not None:
                # Tool calls are independent requests, not an ordered stream: run them concurrently like tool.invoke.
                self._spawn(self._answer_topic_tool(topic, event, tool))
                return
        if self._events_busy >= self.max_queued_events:
            self.events_dropped += 1
            # Power-of-two counts keep the log bounded under a sustained flood.
            if self.events_dropped & (self.events_dropped - 1) == 0:
                self._log(f"event backlog full ({self.max_queued_events}); {self.events_dropped} event(s) dropped so far")
            return
        if self._events_busy == 0:
            self._events_idle.clear()  # type: ignore[union-attr]
        self._events_busy += 1
        if not self.ordered_events:
            self._spawn(self._run_event(topic, event, sub))
            return
        self._events.append((topic, event, sub))
        wake = self._events_wake
        if wake is not None:
            self._events_wake = None
            wake.set_result(None)

    def _on_notification(self, method: str, params: Any) -> None:
        if method == "llm.complete.delta" and isinstance(params, dict):
            request_id = params.get("request_id")
            entry = self._pending.get(request_id) if type(request_id) is int else None
            if entry is None or entry[1] is None:
                self._log_plain(f"llm.complete.delta for unknown/non-stream request {request_id!r}, dropped")
                return
            try:
                entry[1](params.get("chunk"))
            except Exception as exc:  # a delta callback bug must not stop the read loop
                self._log(f"delta handler failed: {exc!r}")
        # Other notifications (future contract additions) are ignored, never answered.

    async def _consume_events(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._events
        popleft = queue.popleft
        broker = self.broker
        set_current, reset_current = current_event.set, current_event.reset
        while True:
            # Events run one at a time, in arrival order; the whole backlog is handled without yielding
            # unless a handler awaits, so the publishes of a burst share one write.
            while queue:
                topic, event, sub = popleft()
                token = set_current(event)
                try:
                    if sub is None and self._event_call is not None:
                        await self._event_call(topic, event, broker)
                    else:
                        await self._dispatch_sub(topic, event, sub)
                except Exception as exc:  # a handler bug must not stop the plugin
                    self._log_plain(f"on_event raised: {exc!r}")
                finally:
                    reset_current(token)
                    self._events_busy -= 1
                    if self._events_busy == 0:
                        self._events_idle.set()  # type: ignore[union-attr]
            wake = loop.create_future()
            self._events_wake = wake
            await wake

    async def _dispatch_sub(self, topic: str, event: Event, sub: str | None) -> None:
        if sub is not None:
            handler = self._subscriptions.get(sub)
            if handler is not None:
                await _caller(handler)(topic, event)
                return
            # An event for a subscription the plugin dropped, or one it did not make via the SDK: the default handler gets it.
        if self._event_call is not None:
            await self._event_call(topic, event, self.broker)

    async def _run_event(self, topic: str, event: Event, sub: str | None) -> None:
        """One event in its own task (ordered_events=False)."""
        token = current_event.set(event)
        try:
            await self._dispatch_sub(topic, event, sub)
        except Exception as exc:  # a handler bug must not stop the plugin
            self._log_plain(f"on_event raised: {exc!r}")
        finally:
            current_event.reset(token)
            self._events_busy -= 1
            if self._events_busy == 0:
                self._events_idle.set()  # type: ignore[union-attr]

    async def _answer_topic_tool(self, topic: str, event: Event, tool: TopicToolHandler) -> None:
        payload: dict[str, Any]
        try:
            payload = {"result": await _caller(tool)(event.payload, event)}
        except (ToolInvocationError, E.RpcError) as exc:
            payload = {"error": exc.to_dict()}
        except Exception as exc:  # noqa: BLE001 - reported to the caller, not swallowed
            payload = {"error": {"code": E.TOOL_EXECUTION_FAILED, "message": f"execution failed: {exc}"}}
        reply = f"{topic}.reply"
        try:
            await self.broker.publish(reply, Event.new(reply, self.plugin_id, payload, session_id=event.session_id,
                                                       correlation_id=event.correlation_id or event.id))
        except Exception as exc:  # noqa: BLE001 - e.g. a result too large for one frame
            self._log(f"reply on {reply} not sent: {exc}")

    async def _configure(self, id_: Any, value: Any) -> None:
        try:
            if self.on_configure is not None:
                await _caller(self.on_configure)(value)
        except Exception as exc:
            self._reply_error(id_, E.INVALID_PARAMS, f"configuration refused: {exc}")
            return
        self._reply(id_, {"ok": True})

    def _tool_invoke(self, id_: Any, params: Any) -> None:
        if not isinstance(params, dict) or not isinstance(params.get("tool_name"), str):
            self._reply_error(id_, E.INVALID_PARAMS, "tool.invoke params must be {plugin_id, tool_name, args, agent_id}")
            return
        if self._tool_handler is None:
            self._reply_error(id_, E.METHOD_NOT_FOUND, "method not found: tool.invoke (this plugin has no tool handler)")
            return
        agent = params.get("agent_id")
        pid = params.get("plugin_id")
        # args reach the handler verbatim: any JSON value, None when omitted.
        inv = ToolInvocation(plugin_id=pid if isinstance(pid, str) and pid else self.plugin_id, tool_name=params["tool_name"],
                             args=params.get("args"), agent_id=agent if isinstance(agent, str) else None)
        self._spawn(self._run_tool(id_, inv))

    async def _run_tool(self, id_: Any, inv: ToolInvocation) -> None:
        handler = self._tool_handler
        assert handler is not None
        try:
            if self._tool_with_ctx:
                result = await handler(inv, ToolContext(self.broker, self.plugin_id, self._shutting_down))
            else:
                result = await handler(inv)
        except ToolInvocationError as exc:
            self._reply_error(id_, exc.code, exc.message, exc.error_data())
            return
        except Exception as exc:  # only typed tool errors choose their code; anything else (a host call's error included) is -33403
            self._reply_error(id_, E.TOOL_EXECUTION_FAILED, f"execution failed: {exc}" if str(exc) else f"execution failed: {exc!r}")
            return
        self._reply(id_, result)

    # ---- shutdown ------------------------------------------------------------------------

    def _begin_shutdown(self, reply_id: Any, reason: str) -> None:
        if self._shutdown_task is not None:
            if reply_id is not None:
                # Not in _tasks: the drain waits for _tasks, and this waits for the drain.
                late = asyncio.ensure_future(self._reply_after(self._shutdown_task, reply_id))
                self._late_replies.add(late)
                late.add_done_callback(self._late_replies.discard)
            return
        self._shutdown_task = asyncio.ensure_future(self._shutdown(reply_id, reason))

    async def _reply_after(self, task: "asyncio.Task[None]", reply_id: Any) -> None:
        await asyncio.shield(task)
        self._reply(reply_id, {"ok": True})

    async def _drain(self) -> None:
        if self._events_idle is not None:
            await self._events_idle.wait()
        current = asyncio.current_task()
        while True:
            running = [t for t in self._tasks if t is not current and not t.done()]
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)

    async def _shutdown(self, reply_id: Any, reason: str) -> None:
        self._log(f"shutting down ({reason})")
        self._shutting_down.set()
        self._stopping = True
        # Handlers awaiting the host would otherwise hold the drain until their own deadline.
        for fut, _ in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(E.RpcTransportError("adapter shutting down: the host call was abandoned"))
        try:
            await asyncio.wait_for(self._drain(), self.drain_timeout)
        except asyncio.TimeoutError:
            self._log(f"handlers still running after {self.drain_timeout:g} s; shutting down anyway")
        hook_error: BaseException | None = None
        if self.on_shutdown is not None:
            try:
                await _caller(self.on_shutdown)()
            except Exception as exc:
                hook_error = exc
                self._log_plain(f"on_shutdown raised: {exc!r}")
        if reply_id is not None:
            if hook_error is not None:
                self._reply_error(reply_id, E.SHUTDOWN_FAILED, f"shutdown hook failed: {hook_error}")
            else:
                self._reply(reply_id, {"ok": True})
        await self._flush_all()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)


