"""PluginAdapter: speaks the nexo plugin contract over stdin/stdout."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from typing import Any, Awaitable, Callable, BinaryIO

from . import errors as E
from .event import Event
from .framing import MAX_FRAME_BYTES, LineDecoder, encode_frame
from .host_calls import BrokerSender
from .stdout_guard import install_stdout_guard
from .tools import ToolDef, ToolInvocation

EventHandler = Callable[[str, Event, BrokerSender], Awaitable[None]]
ToolHandler = Callable[[ToolInvocation, "ToolContext"], Awaitable[Any]]

#: Events buffered for in-order handling; beyond it, new events are dropped and logged.
EVENT_QUEUE_DEPTH = 4096


class ToolContext:
    """What a tool handler gets besides its invocation."""

    def __init__(self, broker: BrokerSender, shutting_down: asyncio.Event) -> None:
        self.broker = broker
        self.shutting_down = shutting_down


class _ReadProtocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        self.on_data = on_data
        self.on_eof = on_eof

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def eof_received(self) -> None:
        self.on_eof()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.on_eof()


class PluginAdapter:
    """Runs a plugin: dispatches events (in order) and tool calls to your
    handlers, answers the contract's requests, and shuts down cleanly (drain,
    hook, reply, exit 0) on `shutdown`, SIGTERM/SIGINT or stdin EOF.

    Example:
        adapter = PluginAdapter(manifest_toml=MANIFEST, on_event=on_event)
        await adapter.run()
    """

    def __init__(self, *, manifest_toml: str, server_version: str | None = None,
                 on_event: EventHandler | None = None, on_shutdown: Callable[[], Awaitable[None]] | None = None,
                 on_configure: Callable[[Any], Awaitable[None]] | None = None,
                 tools: list[ToolDef] | None = None, on_tool: ToolHandler | None = None,
                 enable_stdout_guard: bool = True, max_frame_bytes: int = MAX_FRAME_BYTES,
                 handle_process_signals: bool = True, host_call_timeout: float = 30.0) -> None:
        self.manifest: dict[str, Any] = tomllib.loads(manifest_toml)
        plugin = self.manifest.get("plugin") or {}
        if not isinstance(plugin.get("id"), str):
            raise ValueError("manifest_toml has no [plugin].id")
        self.plugin_id: str = plugin["id"]
        self.server_version = server_version or f"{self.plugin_id}-{plugin.get('version', '0.0.0')}"
        self.on_event = on_event
        self.on_shutdown = on_shutdown
        self.on_configure = on_configure
        self.tools = tools or []
        self.on_tool = on_tool
        self.enable_stdout_guard = enable_stdout_guard
        self.max_frame_bytes = max_frame_bytes
        self.handle_process_signals = handle_process_signals
        self.host_call_timeout = host_call_timeout
        self.broker = BrokerSender(self)
        self._subscriptions: dict[str, Callable[[str, Event], Awaitable[None]]] = {}
        self._topic_tools: dict[str, Callable[[Any, Event], Awaitable[Any]]] = {}
        self._pending: dict[int, tuple[asyncio.Future[Any], Callable[[Any], None] | None]] = {}
        self._next_id = 1
        self._write_lock = asyncio.Lock()
        self._out: BinaryIO | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._events: asyncio.Queue[tuple[str, Event, str | None]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shutting_down = asyncio.Event()
        self._shutdown_task: asyncio.Task[None] | None = None
        self._finished: asyncio.Future[None] | None = None
        self._dropped = 0

    def on_topic_tool(self, name: str, handler: Callable[[Any, Event], Awaitable[Any]]) -> "PluginAdapter":
        """Seed pattern 3, topic form: answer events on plugin.tool.<name> by publishing
        {result} (or {error: {code, message, data}} when the handler raises; a ToolError
        keeps its code, anything else is -33403) on plugin.tool.<name>.reply with the
        call's correlation id (else its id)."""
        self._topic_tools[f"plugin.tool.{name}"] = handler
        return self

    # ---- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until shutdown; returns after the drain (the process then exits 0)."""
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._events = asyncio.Queue(maxsize=EVENT_QUEUE_DEPTH)
        self._out = install_stdout_guard() if self.enable_stdout_guard else sys.stdout.buffer
        try:
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(os.dup(self._out.fileno()), "wb"))
            self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
        except (ValueError, OSError):
            self._writer = None  # stdout is a regular file: plain blocking writes
        decoder = LineDecoder(self.max_frame_bytes, self._dispatch, self._on_bad_line)

        def on_eof() -> None:
            decoder.end()
            self._begin_shutdown(None, "stdin closed")

        try:
            await loop.connect_read_pipe(lambda: _ReadProtocol(decoder.push, on_eof), os.fdopen(os.dup(0), "rb"))
        except (ValueError, OSError):
            self._spawn(self._read_with_thread(decoder, on_eof))
        if self.handle_process_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._begin_shutdown, None, sig.name)
        # The consumer lives outside _tasks: shutdown waits for _tasks, and the consumer never ends by itself.
        consumer = asyncio.ensure_future(self._consume_events())
        await self._finished
        consumer.cancel()

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
        task.add_done_callback(self._tasks.discard)
        return task

    def _log(self, message: str) -> None:
        sys.stderr.write(f"[{self.plugin_id}] {message}\n")
        sys.stderr.flush()

    # ---- writing -------------------------------------------------------------------------

    async def _send(self, frame: Any) -> None:
        data = encode_frame(frame)
        if len(data) - 1 > self.max_frame_bytes:
            raise ValueError(f"frame of {len(data) - 1} bytes exceeds the {self.max_frame_bytes}-byte limit")
        async with self._write_lock:
            if self._writer is not None:
                self._writer.write(data)
                await self._writer.drain()
            elif self._out is not None:
                self._out.write(data)
                self._out.flush()

    def _reply(self, id_: Any, result: Any) -> None:
        self._spawn(self._send({"jsonrpc": "2.0", "id": id_, "result": result}))

    def _reply_error(self, id_: Any, code: int, message: str, data: Any = None) -> None:
        err: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self._spawn(self._send({"jsonrpc": "2.0", "id": id_, "error": err}))

    async def _request(self, method: str, params: Any, timeout: float | None = None,
                       on_delta: Callable[[Any], None] | None = None) -> Any:
        if self._shutting_down.is_set():
            raise RuntimeError(f"plugin is shutting down; {method} not sent")
        id_ = self._next_id
        self._next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[id_] = (fut, on_delta)
        try:
            await self._send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
            limit = self.host_call_timeout if timeout is None else timeout
            try:
                return await asyncio.wait_for(fut, limit)
            except asyncio.TimeoutError:
                raise E.HostCallTimeout(f"host did not answer {method} within {limit:g} s") from None
        finally:
            self._pending.pop(id_, None)

    # ---- reading -------------------------------------------------------------------------

    def _on_bad_line(self, kind: str, preview: str) -> None:
        self._log(f"dropped a bad line from the host ({kind}){': ' + preview if preview else ''}")
        if kind == "invalid_json":
            self._reply_error(None, E.PARSE_ERROR, "parse error")

    def _dispatch(self, v: Any) -> None:
        if not isinstance(v, dict) or v.get("jsonrpc") != "2.0":
            id_ = v.get("id") if isinstance(v, dict) and isinstance(v.get("id"), (int, str)) else None
            self._reply_error(id_, E.INVALID_REQUEST, "invalid JSON-RPC 2.0 frame")
            return
        method = v.get("method")
        if not isinstance(method, str):
            entry = self._pending.get(v.get("id")) if isinstance(v.get("id"), int) else None
            if entry is None or entry[0].done():
                return
            err = v.get("error")
            if isinstance(err, dict):
                entry[0].set_exception(E.RpcError(int(err.get("code", E.INTERNAL_ERROR)), str(err.get("message", "")), err.get("data")))
            else:
                entry[0].set_result(v.get("result"))
            return
        params = v.get("params")
        if "id" not in v:
            self._on_notification(method, params)
            return
        id_ = v["id"]
        if self._shutting_down.is_set() and method != "shutdown":
            self._reply_error(id_, E.INTERNAL_ERROR, "plugin is shutting down")
            return
        if method == "initialize":
            if params is not None and not isinstance(params, dict):
                self._reply_error(id_, E.INVALID_PARAMS, "initialize params must be an object")
                return
            result: dict[str, Any] = {"manifest": self.manifest, "server_version": self.server_version}
            if self.tools:
                result["tools"] = [t.to_dict() for t in self.tools]
            self._reply(id_, result)
        elif method == "plugin.configure":
            if not isinstance(params, dict) or "value" not in params:
                self._reply_error(id_, E.INVALID_PARAMS, "plugin.configure needs {value}")
                return
            self._spawn(self._configure(id_, params["value"]))
        elif method == "shutdown":
            if params is not None and not isinstance(params, dict):
                self._reply_error(id_, E.INVALID_PARAMS, "shutdown params must be an object")
                return
            reason = params.get("reason") if isinstance(params, dict) else None
            self._begin_shutdown(id_, str(reason or "shutdown requested"))
        elif method == "tool.invoke":
            self._tool_invoke(id_, params)
        else:
            self._reply_error(id_, E.METHOD_NOT_FOUND, f"method not found: {method}")

    def _on_notification(self, method: str, params: Any) -> None:
        if method == "broker.event":
            if not isinstance(params, dict) or not isinstance(params.get("event"), dict):
                self._log("broker.event without an event object ignored")
                return
            if self._shutting_down.is_set() or self._events is None:
                return
            event = Event.from_dict(params["event"])
            topic = params.get("topic") if isinstance(params.get("topic"), str) else event.topic
            sub = params.get("subscriber_id") if isinstance(params.get("subscriber_id"), str) else None
            tool = self._topic_tools.get(topic) if sub is None else None
            if tool is not None:
                # Tool calls are independent requests, not an ordered stream: run them concurrently like tool.invoke.
                self._spawn(self._answer_topic_tool(topic, event, tool))
                return
            try:
                self._events.put_nowait((topic, event, sub))
            except asyncio.QueueFull:
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    self._log(f"event queue full: dropped {self._dropped} event(s)")
        elif method == "llm.complete.delta" and isinstance(params, dict):
            entry = self._pending.get(params.get("request_id"))  # type: ignore[arg-type]
            if entry is not None and entry[1] is not None:
                entry[1](params.get("chunk"))

    async def _consume_events(self) -> None:
        assert self._events is not None
        while True:
            topic, event, sub = await self._events.get()
            try:
                await self._handle_event(topic, event, sub)
            except Exception as exc:  # a handler bug must not stop the plugin
                self._log(f"event handler failed: {exc!r}")
            finally:
                self._events.task_done()

    async def _handle_event(self, topic: str, event: Event, sub: str | None) -> None:
        if sub is not None:
            handler = self._subscriptions.get(sub)
            if handler is not None:
                await handler(topic, event)
            return
        if self.on_event is not None:
            await self.on_event(topic, event, self.broker)

    async def _answer_topic_tool(self, topic: str, event: Event, tool: Callable[[Any, Event], Awaitable[Any]]) -> None:
        # Like tool.invoke: a ToolError keeps its code, anything else is -33403; the caller always gets an answer.
        payload: dict[str, Any]
        try:
            payload = {"result": await tool(event.payload, event)}
        except E.ToolError as exc:
            payload = {"error": exc.to_dict()}
        except Exception as exc:  # noqa: BLE001 - reported to the caller, not swallowed
            payload = {"error": {"code": E.TOOL_EXECUTION_FAILED, "message": str(exc) or type(exc).__name__}}
        reply = f"{topic}.reply"
        try:
            await self.broker.publish(reply, Event.new(reply, self.plugin_id, payload,
                                                       session_id=event.session_id, correlation_id=event.correlation_id or event.id))
        except Exception as exc:  # noqa: BLE001 - e.g. a result too large for one frame
            self._log(f"reply on {reply} not sent: {exc}")

    async def _configure(self, id_: Any, value: Any) -> None:
        try:
            if self.on_configure is not None:
                await self.on_configure(value)
            self._reply(id_, {"ok": True})
        except Exception as exc:
            self._reply_error(id_, E.INVALID_PARAMS, f"configuration refused: {exc}")

    def _tool_invoke(self, id_: Any, params: Any) -> None:
        if not isinstance(params, dict) or not isinstance(params.get("tool_name"), str):
            self._reply_error(id_, E.INVALID_PARAMS, "tool.invoke needs {tool_name, args}")
            return
        if self.on_tool is None:
            self._reply_error(id_, E.METHOD_NOT_FOUND, "this plugin has no tool handler")
            return
        args = params.get("args")
        inv = ToolInvocation(plugin_id=str(params.get("plugin_id") or self.plugin_id), tool_name=params["tool_name"],
                             args=args if isinstance(args, dict) else {}, agent_id=params.get("agent_id"))
        self._spawn(self._run_tool(id_, inv))

    async def _run_tool(self, id_: Any, inv: ToolInvocation) -> None:
        assert self.on_tool is not None
        try:
            result = await self.on_tool(inv, ToolContext(self.broker, self._shutting_down))
            self._reply(id_, result)
        except E.ToolError as exc:
            self._reply_error(id_, exc.code, exc.message, exc.data)
        except Exception as exc:  # any other failure, a host call's error included
            self._reply_error(id_, E.TOOL_EXECUTION_FAILED, str(exc) or exc.__class__.__name__)

    # ---- shutdown ------------------------------------------------------------------------

    def _begin_shutdown(self, reply_id: Any, reason: str) -> None:
        if self._shutdown_task is not None:
            if reply_id is not None:
                task = self._shutdown_task
                self._spawn(self._reply_after(task, reply_id))
            return
        self._shutdown_task = asyncio.ensure_future(self._shutdown(reply_id, reason))

    async def _reply_after(self, task: "asyncio.Task[None]", reply_id: Any) -> None:
        await asyncio.shield(task)
        self._reply(reply_id, {"ok": True})

    async def _shutdown(self, reply_id: Any, reason: str) -> None:
        self._shutting_down.set()
        for fut, _ in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(RuntimeError("plugin is shutting down"))
        if self._events is not None:
            await self._events.join()
        current = asyncio.current_task()
        running = [t for t in self._tasks if t is not current and not t.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        hook_error: BaseException | None = None
        if self.on_shutdown is not None:
            try:
                await self.on_shutdown()
            except Exception as exc:
                hook_error = exc
                self._log(f"shutdown hook failed: {exc!r}")
        if reply_id is not None:
            if hook_error is not None:
                frame = {"jsonrpc": "2.0", "id": reply_id, "error": {"code": E.SHUTDOWN_FAILED, "message": f"shutdown hook failed: {hook_error}"}}
            else:
                frame = {"jsonrpc": "2.0", "id": reply_id, "result": {"ok": True}}
            try:
                await self._send(frame)
            except Exception:
                pass
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)
