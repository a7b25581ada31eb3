"""PluginAdapter: speaks the nexo plugin contract over stdin/stdout."""
from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import tomllib
from typing import Any, Awaitable, BinaryIO, Callable

from . import errors as E
from .event import Event
from .framing import MAX_FRAME_BYTES, LineDecoder, encode_frame
from .host_calls import BrokerSender
from .state import _set_default_plugin_id
from .stdout_guard import install_stdout_guard
from .tools import ToolDef, ToolInvocation

EventHandler = Callable[[str, Event, BrokerSender], Awaitable[None] | None]
#: Frames queued in one event-loop turn are written together, up to this many bytes per write.
BATCH_BYTES = 64 * 1024
#: Above this many bytes waiting in the pipe transport, a sender waits for drain.
WRITE_HIGH_WATER = 256 * 1024
ToolHandler = Callable[[ToolInvocation, "ToolContext"], Awaitable[Any] | Any]
TopicToolHandler = Callable[[Any, Event], Awaitable[Any] | Any]


class ToolContext:
    """What a tool handler gets besides its invocation: the broker (publish, host calls)
    and an asyncio.Event set when the plugin starts shutting down."""

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


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _positive(name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    number_like = isinstance(value, kind) and not isinstance(value, bool)
    if not number_like or value <= 0:
        raise ValueError(f"PluginAdapter option {name} must be a positive number, got {value!r} ({type(value).__name__})")
    return value


class PluginAdapter:
    """Runs a plugin: dispatches events (in order) and tool calls to your
    handlers, answers the contract's requests, and shuts down cleanly (stop
    taking work, fail its own host calls, drain handlers, run on_shutdown,
    reply, return) on `shutdown`, SIGTERM/SIGINT or stdin EOF.

    Handlers may be coroutines or plain functions.

    Example:
        adapter = PluginAdapter(manifest_toml=MANIFEST, on_event=on_event)
        await adapter.run()
    """

    def __init__(self, *, manifest_toml: str, server_version: str | None = None,
                 on_event: EventHandler | None = None, on_shutdown: Callable[[], Awaitable[None] | None] | None = None,
                 on_configure: Callable[[Any], Awaitable[None] | None] | None = None,
                 tools: list[ToolDef | dict[str, Any]] | None = None, on_tool: ToolHandler | None = None,
                 enable_stdout_guard: bool = True, max_frame_bytes: int = MAX_FRAME_BYTES,
                 handle_process_signals: bool = True, host_call_timeout: float = 30.0,
                 max_queued_events: int = 10_000, drain_timeout: float = 10.0) -> None:
        if not isinstance(manifest_toml, str):
            raise TypeError(f"PluginAdapter needs manifest_toml (the manifest text), got {type(manifest_toml).__name__}")
        try:
            self.manifest: dict[str, Any] = tomllib.loads(manifest_toml)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"manifest_toml is not valid TOML: {exc}") from exc
        plugin = self.manifest.get("plugin") or {}
        if not isinstance(plugin.get("id"), str) or not plugin["id"]:
            raise ValueError("manifest_toml has no [plugin].id")
        self.plugin_id: str = plugin["id"]
        _set_default_plugin_id(self.plugin_id)
        self.server_version = server_version or f"{self.plugin_id}-{plugin.get('version', '0.0.0')}"
        self.on_event = on_event
        self.on_shutdown = on_shutdown
        self.on_configure = on_configure
        self.tools: list[ToolDef | dict[str, Any]] = list(tools or [])
        self.on_tool = on_tool
        self.enable_stdout_guard = enable_stdout_guard
        self.max_frame_bytes: int = _positive("max_frame_bytes", max_frame_bytes, int)
        self.handle_process_signals = handle_process_signals
        self.host_call_timeout: float = _positive("host_call_timeout", host_call_timeout, (int, float))
        self.max_queued_events: int = _positive("max_queued_events", max_queued_events, int)
        self.drain_timeout: float = _positive("drain_timeout", drain_timeout, (int, float))
        self.broker = BrokerSender(self)
        self._subscriptions: dict[str, Callable[[str, Event], Awaitable[None]]] = {}
        self._topic_tools: dict[str, TopicToolHandler] = {}
        self._pending: dict[int, tuple[asyncio.Future[Any], Callable[[Any], None] | None]] = {}
        self._next_id = 1
        self._running = False
        self._out_parts: list[bytes] = []
        self._out_bytes = 0
        self._flush_scheduled = False
        self._out: BinaryIO | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._events: asyncio.Queue[tuple[str, Event, str | None]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._late_replies: set[asyncio.Task[Any]] = set()
        self._shutting_down = asyncio.Event()
        self._shutdown_task: asyncio.Task[None] | None = None
        self._finished: asyncio.Future[None] | None = None
        self.events_dropped = 0

    def on_topic_tool(self, name: str, handler: TopicToolHandler) -> "PluginAdapter":
        """Seed pattern 3, topic form: answer events on plugin.tool.<name> by publishing
        {result} (or {error: {code, message, data}} when the handler raises; a ToolError
        keeps its code, anything else is -33403) on plugin.tool.<name>.reply with the
        call's correlation id (else its id) and session id. Calls run concurrently."""
        self._topic_tools[f"plugin.tool.{name}"] = handler
        return self

    # ---- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until shutdown; returns after the drain (the process then exits 0)."""
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._running = True
        self._events = asyncio.Queue(maxsize=self.max_queued_events)
        # Signals first: a SIGTERM that arrives once the host has seen our first reply must drain, not kill.
        if self.handle_process_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig.name)
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
        # The consumer lives outside _tasks: shutdown waits for _tasks, and the consumer never ends by itself.
        consumer = asyncio.ensure_future(self._consume_events())
        try:
            await self._finished
            if self._late_replies:
                await asyncio.wait(self._late_replies, timeout=1)
                await self._flush_all()
        finally:
            consumer.cancel()
            if self.handle_process_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    def _on_signal(self, name: str) -> None:
        if self._shutdown_task is not None and name in ("SIGTERM", "SIGINT"):
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

    # ---- writing -------------------------------------------------------------------------

    async def _send(self, frame: Any) -> None:
        """Queue one frame for stdout; ValueError when it is over max_frame_bytes or not JSON.

        Frames queued in the same event-loop turn go out in one write (one syscall
        for a burst, not one per frame); past BATCH_BYTES the batch is written at
        once, and a full pipe makes the caller wait for drain, so memory stays
        bounded. Frames are whole and in call order: there is one buffer."""
        try:
            data = encode_frame(frame)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"frame is not serializable as JSON: {exc}") from exc
        if len(data) - 1 > self.max_frame_bytes:
            raise ValueError(f"frame of {len(data) - 1} bytes exceeds the {self.max_frame_bytes}-byte limit")
        if not self._running:
            raise RuntimeError("PluginAdapter.run() has not started; nothing can be sent yet")
        self._out_parts.append(data)
        self._out_bytes += len(data)
        if self._out_bytes >= BATCH_BYTES:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        if self._writer is not None and self._writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            await self._writer.drain()

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out_parts:
            return
        data = b"".join(self._out_parts)
        self._out_parts.clear()
        self._out_bytes = 0
        if self._writer is not None:
            self._writer.write(data)
        elif self._out is not None:
            self._out.write(data)
            self._out.flush()

    async def _flush_all(self, limit: float = 1.0) -> None:
        """Write out everything queued before the process ends (bounded: the host may have stopped reading)."""
        self._flush()
        if self._writer is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        transport = self._writer.transport
        while transport.get_write_buffer_size() > 0 and not transport.is_closing() and loop.time() < deadline:
            await asyncio.sleep(0.002)

    def _reply(self, id_: Any, result: Any) -> None:
        self._spawn(self._send_reply(id_, {"result": result}))

    def _reply_error(self, id_: Any, code: int, message: str, data: Any = None) -> None:
        err: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self._spawn(self._send_reply(id_, {"error": err}))

    async def _send_reply(self, id_: Any, body: dict[str, Any]) -> None:
        try:
            await self._send({"jsonrpc": "2.0", "id": id_, **body})
        except ValueError as exc:
            # A result too large for one frame (or not JSON) still gets an answer, so the host's call does not hang until its deadline.
            self._log(f"reply to request {id_!r} not sent: {exc}")
            await self._send({"jsonrpc": "2.0", "id": id_, "error": {"code": E.INTERNAL_ERROR, "message": f"reply not sent: {exc}"}})

    async def _request(self, method: str, params: Any, timeout: float | None = None,
                       on_delta: Callable[[Any], None] | None = None) -> Any:
        if self._shutting_down.is_set():
            raise E.HostCallAbandoned(f"plugin is shutting down; {method} not sent")
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
        if method is None:
            # A response to one of our host calls; one we no longer wait for (timed out) is dropped.
            rid = v.get("id")
            entry = self._pending.get(rid) if isinstance(rid, int) else None
            if entry is None or entry[0].done():
                self._log(f"response to unknown request id {v.get('id')!r} ignored")
                return
            err = v.get("error")
            if isinstance(err, dict):
                code = err.get("code")
                entry[0].set_exception(E.RpcError(code if isinstance(code, int) else E.INTERNAL_ERROR, str(err.get("message", "host error")), err.get("data")))
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
        if method == "initialize":
            if params is not None and not isinstance(params, dict):
                self._reply_error(id_, E.INVALID_PARAMS, "initialize params must be an object ({nexo_version} or {})")
                return
            result: dict[str, Any] = {"manifest": self.manifest, "server_version": self.server_version}
            if self.tools:
                result["tools"] = [t.to_dict() if isinstance(t, ToolDef) else t for t in self.tools]
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
            raw_topic = params.get("topic")
            topic = raw_topic if isinstance(raw_topic, str) else event.topic
            raw_sub = params.get("subscriber_id")
            sub = raw_sub if isinstance(raw_sub, str) else None
            tool = self._topic_tools.get(topic) if sub is None else None
            if tool is not None:
                # Tool calls are independent requests, not an ordered stream: run them concurrently like tool.invoke.
                self._spawn(self._answer_topic_tool(topic, event, tool))
                return
            try:
                self._events.put_nowait((topic, event, None if sub is None else str(sub)))
            except asyncio.QueueFull:
                self.events_dropped += 1
                # Power-of-two counts keep the log bounded under a sustained flood.
                if self.events_dropped & (self.events_dropped - 1) == 0:
                    self._log(f"event backlog full ({self.max_queued_events}); {self.events_dropped} event(s) dropped so far")
        elif method == "llm.complete.delta" and isinstance(params, dict):
            request_id = params.get("request_id")
            entry = self._pending.get(request_id) if isinstance(request_id, int) else None
            if entry is not None and entry[1] is not None:
                try:
                    entry[1](params.get("chunk"))
                except Exception as exc:  # a delta callback bug must not stop the read loop
                    self._log(f"delta handler failed: {exc!r}")
        # Other notifications (future contract additions) are ignored, never answered.

    async def _consume_events(self) -> None:
        assert self._events is not None
        while True:
            topic, event, sub = await self._events.get()
            try:
                await self._handle_event(topic, event, sub)
            except Exception as exc:  # a handler bug must not stop the plugin
                self._log(f"event handler failed on {topic}: {exc!r}")
            finally:
                self._events.task_done()

    async def _handle_event(self, topic: str, event: Event, sub: str | None) -> None:
        if sub is not None:
            handler = self._subscriptions.get(sub)
            if handler is not None:
                await _maybe_await(handler(topic, event))
                return
            # An event for a subscription the plugin dropped, or one it did not make via the SDK: the default handler gets it.
        if self.on_event is not None:
            await _maybe_await(self.on_event(topic, event, self.broker))

    async def _answer_topic_tool(self, topic: str, event: Event, tool: TopicToolHandler) -> None:
        # Like tool.invoke: a ToolError keeps its code, anything else is -33403; the caller always gets an answer.
        payload: dict[str, Any]
        try:
            payload = {"result": await _maybe_await(tool(event.payload, event))}
        except E.RpcError as exc:
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
                await _maybe_await(self.on_configure(value))
        except Exception as exc:
            self._reply_error(id_, E.INVALID_PARAMS, f"configuration refused: {exc}")
            return
        self._reply(id_, {"ok": True})

    def _tool_invoke(self, id_: Any, params: Any) -> None:
        if not isinstance(params, dict) or not isinstance(params.get("tool_name"), str) or (
                params.get("args") is not None and not isinstance(params.get("args"), dict)):
            self._reply_error(id_, E.INVALID_PARAMS, "tool.invoke params must be {plugin_id, tool_name, args, agent_id}")
            return
        if self.on_tool is None:
            self._reply_error(id_, E.METHOD_NOT_FOUND, "this plugin has no tool handler")
            return
        args = params.get("args")
        agent = params.get("agent_id")
        inv = ToolInvocation(plugin_id=str(params.get("plugin_id") or self.plugin_id), tool_name=params["tool_name"],
                             args=args if isinstance(args, dict) else {}, agent_id=agent if isinstance(agent, str) else None)
        self._spawn(self._run_tool(id_, inv))

    async def _run_tool(self, id_: Any, inv: ToolInvocation) -> None:
        assert self.on_tool is not None
        try:
            result = await _maybe_await(self.on_tool(inv, ToolContext(self.broker, self._shutting_down)))
        except E.ToolError as exc:
            self._reply_error(id_, exc.code, exc.message, exc.data)
            return
        except Exception as exc:  # only typed tool errors choose their code; anything else (a host call's error included) is -33403
            self._reply_error(id_, E.TOOL_EXECUTION_FAILED, str(exc) or exc.__class__.__name__)
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
        await self._send_reply(reply_id, {"result": {"ok": True}})

    async def _drain(self) -> None:
        if self._events is not None:
            await self._events.join()
        current = asyncio.current_task()
        while True:
            running = [t for t in self._tasks if t is not current and not t.done()]
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)

    async def _shutdown(self, reply_id: Any, reason: str) -> None:
        self._log(f"shutting down ({reason})")
        self._shutting_down.set()
        # Handlers awaiting the host would otherwise hold the drain until their own deadline.
        for fut, _ in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(E.HostCallAbandoned("plugin is shutting down"))
        try:
            await asyncio.wait_for(self._drain(), self.drain_timeout)
        except asyncio.TimeoutError:
            self._log(f"handlers still running after {self.drain_timeout:g} s; shutting down anyway")
        hook_error: BaseException | None = None
        if self.on_shutdown is not None:
            try:
                await _maybe_await(self.on_shutdown())
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
            except Exception as exc:
                self._log(f"shutdown reply not sent: {exc!r}")
        await self._flush_all()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)
