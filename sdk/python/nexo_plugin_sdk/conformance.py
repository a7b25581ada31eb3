"""The conformance probe: a tool through which `nexo plugin test` drives the plugin
(host calls, tool errors, a slow handler, stray prints). The language-neutral
definition is conformance/README.md, "The probe"; this is its Python side."""
from __future__ import annotations

import asyncio
import inspect
import os
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from .errors import RpcServerError, RpcTimeoutError
from .tools import (ToolArgumentInvalid, ToolDef, ToolDenied, ToolExecutionFailed, ToolInvocation, ToolInvocationError,
                    ToolNotFound, ToolUnavailable, text_result)

if TYPE_CHECKING:
    from .adapter import ToolContext

#: Name of the probe tool.
PROBE_TOOL = "conformance_probe"
#: The runner sets this to "1" for the vectors that use the probe; the daemon never does.
PROBE_ENV = "NEXO_CONFORMANCE_PROBE"

PROBE_TOOL_DEF = ToolDef(
    PROBE_TOOL,
    "Lets `nexo plugin test` drive the plugin; present only under the conformance runner",
    {"type": "object", "properties": {"action": {"type": "string"}}, "required": ["action"]},
)

ToolHandler = Callable[..., Awaitable[Any] | Any]


def conformance_probe(tools: list[ToolDef | dict[str, Any]] | None = None, on_tool: ToolHandler | None = None,
                      env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for PluginAdapter: your own `tools` and `on_tool`, plus the probe
    tool when the conformance runner started the plugin (NEXO_CONFORMANCE_PROBE=1).
    Anywhere else it returns your own unchanged, so agents never see the probe.

    Example:
        PluginAdapter(manifest_toml=MANIFEST, on_event=on_event, **conformance_probe())
        PluginAdapter(manifest_toml=MANIFEST, **conformance_probe(tools=[MY_TOOL], on_tool=my_tool))
    """
    environ = os.environ if env is None else env
    own: dict[str, Any] = {}
    if tools is not None:
        own["tools"] = list(tools)
    if on_tool is not None:
        own["on_tool"] = on_tool
    if environ.get(PROBE_ENV) != "1":
        return own
    from .adapter import _takes_context

    takes_ctx = on_tool is not None and _takes_context(on_tool)

    async def handler(inv: ToolInvocation, ctx: "ToolContext") -> Any:
        if inv.tool_name == PROBE_TOOL:
            return await run_probe(inv.args if isinstance(inv.args, Mapping) else {}, ctx)
        if on_tool is not None:
            result = on_tool(inv, ctx) if takes_ctx else on_tool(inv)
            return await result if inspect.isawaitable(result) else result
        raise ToolNotFound(inv.tool_name)

    return {"tools": [*(tools or []), PROBE_TOOL_DEF], "on_tool": handler}


def _invalid(path: str, message: str) -> ToolArgumentInvalid:
    return ToolArgumentInvalid(message, [{"path": path, "message": message}])


def _seconds(args: Mapping[str, Any]) -> float | None:
    ms = args.get("timeout_ms")
    return ms / 1000 if isinstance(ms, (int, float)) and not isinstance(ms, bool) else None


async def _outcome(call: Awaitable[Any], chunks: list[Any] | None = None) -> dict[str, Any]:
    try:
        result = await call
    except RpcTimeoutError:
        return {"ok": False, "timeout": True}
    except RpcServerError as exc:
        return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
    except Exception as exc:
        return {"ok": False, "error": {"message": str(exc) or exc.__class__.__name__}}
    out: dict[str, Any] = {"ok": True, "result": result}
    if chunks is not None:
        out["chunks"] = chunks
    return out


def _typed(code: Any) -> ToolInvocationError:
    if code == -33401:
        return ToolNotFound("asked to fail with -33401")
    if code == -33402:
        return ToolArgumentInvalid("asked to fail with -33402", [{"path": "/", "message": "rejected on request"}])
    if code == -33403:
        return ToolExecutionFailed("asked to fail with -33403")
    if code == -33404:
        return ToolUnavailable("asked to fail with -33404", 250)
    if code == -33405:
        return ToolDenied("asked to fail with -33405")
    return _invalid("/code", "code must be one of -33401..-33405")


async def run_probe(args: Mapping[str, Any], ctx: "ToolContext") -> Any:
    """Carry out one probe action (conformance/README.md, "The probe")."""
    action = args.get("action")
    if action == "echo":
        text = args.get("text")
        if not isinstance(text, str):
            raise _invalid("/text", "text must be a string")
        return text_result(text)
    if action == "fail":
        raise _typed(args.get("code"))
    if action == "throw":
        raise RuntimeError(str(args.get("message") or "boom"))
    if action == "sleep":
        await asyncio.sleep(float(args.get("ms") or 0) / 1000)
        return text_result("slept")
    if action == "print":
        print(args.get("text", ""))  # the stdout guard must route this to stderr
        return text_result("printed")
    if action == "memory_recall":
        limit = args.get("limit", 10)
        # The host's result as sent (the probe checks the wire, not the typed decoding).
        params = {"agent_id": str(args.get("agent_id", "")), "query": str(args.get("query", "")), "limit": limit}
        return await _outcome(ctx.broker._a._request("memory.recall", params, _seconds(args)))
    if action == "llm_complete":
        from .broker import _llm_params

        params = _llm_params(args.get("provider"), args.get("model"), args.get("messages") or [], args.get("max_tokens", 4096),
                             args.get("temperature", 0.7), args.get("system_prompt"), args.get("stream") is True)
        if args.get("stream") is True:
            chunks: list[Any] = []
            return await _outcome(ctx.broker._a._request("llm.complete", params, _seconds(args), chunks.append), chunks)
        return await _outcome(ctx.broker._a._request("llm.complete", params, _seconds(args)))
    raise _invalid("/action", "action is required: echo, fail, throw, sleep, print, memory_recall or llm_complete")
