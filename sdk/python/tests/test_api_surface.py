"""The public names: the reference SDK's, with their behaviour, and Nexo's older names as deprecated aliases."""
import asyncio
import io
import json
import warnings

import pytest

import nexo_plugin_sdk as sdk
from nexo_plugin_sdk import (BrokerSender, Event, LlmCompleteResult, ManifestError, MemoryEntry, PluginAdapter, PluginError,
                             RpcDecodeError, RpcError, RpcServerError, RpcTimeoutError, RpcTransportError, ToolArgumentInvalid,
                             ToolDef, ToolDenied, ToolExecutionFailed, ToolInvocation, ToolInvocationError, ToolNotFound,
                             ToolUnavailable, WireError, read_manifest, text_result)
from nexo_plugin_sdk.adapter import _manifest_extends_tools
from nexo_plugin_sdk.host import MemoryEntries

REFERENCE_EXPORTS = [
    "PluginAdapter", "BrokerSender", "Event", "EventHandler", "ShutdownHandler", "ToolHandler", "ToolHandlerWithContext", "ToolDef",
    "ToolInvocation", "ToolContext", "ToolInvocationError", "ToolNotFound", "ToolArgumentInvalid", "ToolExecutionFailed",
    "ToolUnavailable", "ToolDenied", "text_result", "MemoryEntry", "Message", "TokenCount", "LlmCompleteResult", "LlmStream",
    "DEFAULT_RPC_TIMEOUT", "PluginError", "ManifestError", "WireError", "RpcError", "RpcServerError", "RpcTimeoutError",
    "RpcTransportError", "RpcDecodeError", "read_manifest", "install_stdout_guard", "uninstall_stdout_guard",
    "is_stdout_guard_installed", "STDOUT_GUARD_MARKER", "JSONRPC_VERSION", "MAX_FRAME_BYTES", "serialize_frame", "build_response",
    "build_error_response", "build_notification",
]
REFERENCE_MODULES = ["adapter", "broker", "errors", "events", "host", "manifest", "tools", "stdout_guard", "wire"]
MANIFEST = '[plugin]\nid = "p"\nversion = "0.1.0"\n[plugin.extends]\ntools = ["p_known"]\n'


def test_api_every_reference_export_and_module_exists():
    import importlib

    missing = [n for n in REFERENCE_EXPORTS if not hasattr(sdk, n)]
    assert missing == []
    assert set(REFERENCE_EXPORTS) <= set(sdk.__all__)
    for m in REFERENCE_MODULES:
        importlib.import_module(f"nexo_plugin_sdk.{m}")
    assert sdk.__version__


def test_api_error_tree_and_fields_are_the_references():
    assert issubclass(ManifestError, PluginError) and issubclass(WireError, PluginError) and issubclass(RpcError, PluginError)
    for cls in (RpcServerError, RpcTimeoutError, RpcTransportError, RpcDecodeError):
        assert issubclass(cls, RpcError)
    e = RpcServerError(-32603, "memory not configured")
    assert (e.code, e.message, str(e)) == (-32603, "memory not configured", "rpc error -32603: memory not configured")
    t = RpcTimeoutError(0.4)
    assert t.seconds == 0.4 and str(t) == "no host reply within 0.4s"
    assert issubclass(ManifestError, ValueError), "older Nexo code caught ValueError"


def test_api_tool_errors_codes_messages_and_data():
    assert [c.code for c in (ToolNotFound, ToolArgumentInvalid, ToolExecutionFailed, ToolUnavailable, ToolDenied)] == [-33401, -33402, -33403, -33404, -33405]
    assert str(ToolNotFound("p_x")) == "tool not found: p_x"
    assert str(ToolArgumentInvalid("u")) == "invalid argument: u"
    assert str(ToolExecutionFailed("e")) == "execution failed: e"
    assert str(ToolUnavailable("b")) == "unavailable: b"
    assert str(ToolDenied("d")) == "denied: d"
    assert ToolArgumentInvalid("u").error_data() is None
    assert ToolArgumentInvalid("u", details={"f": 1}).error_data() == {"details": {"f": 1}}
    assert ToolUnavailable("b", retry_after_ms=500).error_data() == {"retry_after_ms": 500}
    assert ToolUnavailable("b", 250).data == {"retry_after_ms": 250}, "Nexo's positional form and .data still work"
    assert all(issubclass(c, ToolInvocationError) for c in (ToolNotFound, ToolArgumentInvalid, ToolExecutionFailed, ToolUnavailable, ToolDenied))


def test_api_tool_types():
    assert ToolDef(name="p_x", description="d").to_json() == {"name": "p_x", "description": "d", "input_schema": {}}
    inv = ToolInvocation(plugin_id="p", tool_name="p_x")
    assert (inv.args, inv.agent_id) == (None, None)
    with pytest.raises(Exception):
        inv.args = 1  # type: ignore[misc]  # frozen, as the reference's
    assert text_result("hi") == {"content": [{"type": "text", "text": "hi"}], "is_error": False}
    assert text_result("bad", is_error=True)["is_error"] is True


def test_api_read_manifest_and_tool_drift():
    assert read_manifest(MANIFEST)["plugin"]["id"] == "p"
    for bad in ("[plugin", "[plugin]\nversion = '1'\n", '[plugin]\nid = "Bad-Id"\n', 'id = "p"\n'):
        with pytest.raises(ManifestError):
            read_manifest(bad)
    assert _manifest_extends_tools({"plugin": {"id": "p"}}) is None
    assert _manifest_extends_tools({"plugin": {"extends": {"tools": ["a", "b"]}}}) == ["a", "b"]
    with pytest.raises(ManifestError):
        _manifest_extends_tools({"plugin": {"extends": {"tools": "nope"}}})
    with pytest.raises(ManifestError, match=r"\[plugin.extends\].tools"):
        PluginAdapter(manifest_toml=MANIFEST, tools=[ToolDef(name="p_unknown", description="x")], on_tool=lambda inv: {})
    a = PluginAdapter(manifest_toml=MANIFEST, tools=[ToolDef(name="p_known", description="x")], on_tool=lambda inv: {})
    assert a.manifest["plugin"]["id"] == "p"


def test_api_run_twice_is_a_plugin_error():
    a = PluginAdapter(manifest_toml=MANIFEST)
    a._started = True
    with pytest.raises(PluginError, match="already"):
        asyncio.run(a.run())


def test_api_host_results_are_dataclasses_that_also_read_like_the_reply_dict():
    r = LlmCompleteResult.from_json({"content": "hi", "finish_reason": "stop", "usage": {"prompt_tokens": 5, "completion_tokens": 2, "extra": 1}})
    assert (r.content, r.finish_reason, r.usage.prompt_tokens, r.usage.completion_tokens) == ("hi", "stop", 5, 2)
    assert r["content"] == "hi" and r.get("usage")["extra"] == 1 and "finish_reason" in r
    assert LlmCompleteResult.from_json({"finish_reason": "length"}).content is None
    e = MemoryEntry.from_json({"id": "x1", "agent_id": "a", "content": "c", "tags": ["t"]})
    assert (e.id, e.tags, e.memory_type, e["content"]) == ("x1", ["t"], None, "c")
    entries = MemoryEntries([e])
    assert entries[0] is e and entries["entries"] == [e], "Nexo's older result['entries'] still reads"


def test_api_deprecated_nexo_names_still_work_and_warn():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from nexo_plugin_sdk import HostCallAbandoned, HostCallTimeout, ToolError, ToolInvalidArguments
    assert {str(w.message).split(" is ")[0] for w in caught} == {f"nexo_plugin_sdk.{n}" for n in ("HostCallAbandoned", "HostCallTimeout", "ToolError", "ToolInvalidArguments")}
    assert HostCallTimeout is RpcTimeoutError and HostCallAbandoned is RpcTransportError
    assert ToolError is ToolInvocationError and ToolInvalidArguments is ToolArgumentInvalid
    old = RpcError(-32603, "boom", {"x": 1})
    assert (old.code, old.message, old.data) == (-32603, "boom", {"x": 1})
    assert old.to_dict() == {"code": -32603, "message": "boom", "data": {"x": 1}}
    from nexo_plugin_sdk.errors import ToolInvalidArguments as via_errors
    assert via_errors is ToolArgumentInvalid


def test_api_standalone_broker_sender_writes_publish_frames():
    out = io.StringIO()

    async def go():
        sender = BrokerSender(asyncio.Lock(), out)
        await sender.publish("plugin.inbound.x", Event.new("plugin.inbound.x", "p", {"k": 1}))
        with pytest.raises(RpcTimeoutError):
            await sender.memory_recall(agent_id="a", query="q", timeout=0.01)

    asyncio.run(go())
    frames = [json.loads(line) for line in out.getvalue().splitlines()]
    assert frames[0]["method"] == "broker.publish" and frames[0]["params"]["event"]["payload"] == {"k": 1}
    assert frames[1]["method"] == "memory.recall"


def test_api_events_a_non_uuid_session_id_never_reaches_a_host_that_has_not_sent_one():
    from nexo_plugin_sdk import events

    events._host_reads_free_sessions = False
    try:
        uuid_sid = "0190c4f2-7b1e-7cc0-8a3e-1d2f3a4b5c6d"
        assert Event.new("a.b", "p", 1, session_id=uuid_sid).to_json()["session_id"] == uuid_sid
        d = Event.new("a.b", "p", 1, session_id="chat-42", metadata={"k": "v"}).to_json()
        # Upstream reads session_id as Option<Uuid>: null keeps the publish readable; the value travels in metadata.
        assert d["session_id"] is None and d["metadata"] == {"k": "v", "session_id": "chat-42"}
        assert Event.from_json(d).session_id == "chat-42", "and comes back on the way in"
        events._note_host_session("chat-7")  # a host that sends such ids reads them
        assert Event.new("a.b", "p", 1, session_id="chat-42").to_json()["session_id"] == "chat-42"
    finally:
        events._host_reads_free_sessions = False
