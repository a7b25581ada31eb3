"""A plugin written against the reference SDK's documented API (fixtures/reference_api_plugin.py),
run as a real child process with the test playing the host over stdio."""
import json
import sys
import time
from pathlib import Path

import pytest

from harness import PluginProcess, event

FIXTURE = Path(__file__).parent / "fixtures" / "reference_api_plugin.py"
TOOLS = ["echo", "recall", "complete", "fail", "plain", "selfcheck"]
MANIFEST = "\n".join([
    "[plugin]", 'id = "refapi"', 'version = "0.3.0"', 'name = "Reference API"', 'description = "fixture"',
    'min_nexo_version = ">=0.1.0"', "[plugin.entrypoint]", 'command = "python3"', "[[plugin.channels.register]]",
    'kind = "refapi"', 'adapter = "RefApi"', "[plugin.extends]", f"tools = {json.dumps(['refapi_' + t for t in TOOLS])}", "",
])


def start(tmp_path: Path, *flags: str) -> PluginProcess:
    (tmp_path / "nexo-plugin.toml").write_text(MANIFEST)
    return PluginProcess([sys.executable, str(FIXTURE), *flags], cwd=tmp_path)


@pytest.fixture
def plugin(tmp_path):
    p = start(tmp_path)
    yield p
    p.close()


def op(p: PluginProcess, payload: dict, event_id: str) -> dict:
    ev = event("plugin.outbound.refapi", payload)
    ev["id"] = event_id
    p.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": ev})
    return p.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == event_id)


def answer_next(p: PluginProcess, method: str, reply: dict, seen: set) -> dict:
    req = p.wait_for(lambda f: f.get("method") == method and f.get("id") not in seen)
    seen.add(req["id"])
    p.send({"jsonrpc": "2.0", "id": req["id"], **reply})
    return req


def invoke(p: PluginProcess, tool: str, args=None, omit_args=False) -> dict:
    params = {"plugin_id": "refapi", "tool_name": f"refapi_{tool}", "agent_id": "shopper"}
    if not omit_args:
        params["args"] = args
    return p.request("tool.invoke", params)


def test_reference_api_initialize_advertises_the_declared_tools(plugin):
    r = plugin.request("initialize", {"nexo_version": "0.1.19"})["result"]
    assert r["server_version"] == "refapi-9.9.9"
    assert r["manifest"]["plugin"]["id"] == "refapi"
    assert [t["name"] for t in r["tools"]] == [f"refapi_{t}" for t in TOOLS]


def test_reference_api_events_are_answered_and_replies_correlate_themselves(plugin):
    pub = op(plugin, {"op": "echo", "n": 1}, "evt-echo-1")
    ev = pub["params"]["event"]
    assert pub["params"]["topic"] == "plugin.inbound.refapi"
    assert ev["payload"] == {"echoed": {"op": "echo", "n": 1}, "topic": "plugin.outbound.refapi"}
    assert ev["correlation_id"] == "evt-echo-1", "a publish from a handler without correlation_id gets the event's id"
    assert sorted(ev) == ["correlation_id", "id", "payload", "session_id", "source", "timestamp", "topic"]


def test_reference_api_host_calls_return_the_reference_types(plugin):
    seen: set = set()
    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "recall", "query": "prefs"}), "id": "r1"}})
    req = answer_next(plugin, "memory.recall", {"result": {"entries": [
        {"id": "m1", "agent_id": "agent_x", "content": "likes tea", "tags": ["pref"], "concept_tags": [], "created_at": "2026-01-01T00:00:00Z", "memory_type": None}]}}, seen)
    assert req["params"] == {"agent_id": "agent_x", "query": "prefs", "limit": 3}
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "r1")
    assert out["params"]["event"]["payload"] == {"contents": ["likes tea"], "ids": ["m1"], "typed": True, "tags": [["pref"]]}

    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "complete", "prompt": "sum up"}), "id": "c1"}})
    req = answer_next(plugin, "llm.complete", {"result": {"content": "short.", "finish_reason": "stop", "usage": {"prompt_tokens": 7, "completion_tokens": 2}}}, seen)
    assert req["params"] == {"provider": "prov", "model": "mod", "messages": [{"role": "user", "content": "sum up"}], "max_tokens": 64,
                             "temperature": 0.1, "system_prompt": "be brief"}, "no stream flag on a plain completion"
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "c1")
    assert out["params"]["event"]["payload"] == {"content": "short.", "finish_reason": "stop", "prompt_tokens": 7, "completion_tokens": 2, "typed": True}


def test_reference_api_streaming_ends_with_final_result(plugin):
    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "stream"}), "id": "s1"}})
    req = plugin.wait_for(lambda f: f.get("method") == "llm.complete")
    assert req["params"]["stream"] is True
    for chunk in ("hel", "lo ", "world"):
        plugin.notify("llm.complete.delta", {"request_id": req["id"], "chunk": chunk})
    plugin.send({"jsonrpc": "2.0", "id": req["id"], "result": {"finish_reason": "stop", "usage": {"prompt_tokens": 1, "completion_tokens": 3}}})
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "s1")
    assert out["params"]["event"]["payload"] == {"chunks": ["hel", "lo ", "world"], "content_is_none": True, "finish_reason": "stop",
                                                 "is_stream": True, "again": "stop"}


def test_reference_api_host_call_failures_raise_the_reference_errors(plugin):
    seen: set = set()
    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "server_error"}), "id": "e1"}})
    answer_next(plugin, "memory.recall", {"error": {"code": -32603, "message": "memory not configured"}}, seen)
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "e1")
    assert out["params"]["event"]["payload"] == {"code": -32603, "message": "memory not configured", "is_rpc_error": True}

    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "timeout"}), "id": "e2"}})
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "e2")
    assert out["params"]["event"]["payload"] == {"seconds": 0.3, "is_rpc_error": True}
    seen.update(f["id"] for f in plugin.frames if f.get("method") == "memory.recall")  # the timed-out call stays unanswered

    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": {**event("plugin.outbound.refapi", {"op": "bad_reply"}), "id": "e3"}})
    answer_next(plugin, "memory.recall", {"result": {"nothing": []}}, seen)
    out = plugin.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == "e3")
    assert out["params"]["event"]["payload"] == {"decode_error": True}


def test_reference_api_tool_invoke_results_args_and_context(plugin):
    assert invoke(plugin, "echo", {"a": 1})["result"] == {"args": {"a": 1}, "agent_id": "shopper", "plugin_id": "refapi", "tool": "refapi_echo"}
    assert invoke(plugin, "echo", omit_args=True)["result"]["args"] is None, "omitted args reach the handler as None"
    assert invoke(plugin, "echo", "quick")["result"]["args"] == "quick", "non-object args pass through verbatim"
    assert invoke(plugin, "plain", {})["result"] == {"content": [{"type": "text", "text": "bad input"}], "is_error": True}
    seen: set = set()
    plugin.send({"jsonrpc": "2.0", "id": "rc", "method": "tool.invoke", "params": {"plugin_id": "refapi", "tool_name": "refapi_recall", "args": {"q": "tea"}, "agent_id": "ag"}})
    req = answer_next(plugin, "memory.recall", {"result": {"entries": [{"id": "m", "agent_id": "ag", "content": "likes tea"}]}}, seen)
    assert req["params"] == {"agent_id": "ag", "query": "tea", "limit": 10}
    assert plugin.wait_for(lambda f: f.get("id") == "rc")["result"]["content"][0]["text"] == '["likes tea"]'


def test_reference_api_tool_errors_map_to_their_codes_and_data(plugin):
    expected = {
        "not_found": (-33401, "tool not found: refapi_fail", None),
        "invalid": (-33402, "invalid argument: url is not a URL", {"details": [{"path": "/url", "message": "not a URL"}]}),
        "unavailable": (-33404, "unavailable: rate limited", {"retry_after_ms": 500}),
        "denied": (-33405, "denied: tenant blocked", None),
        "failed": (-33403, "execution failed: downstream 500", None),
        "plain": (-33403, "execution failed: uncaught", None),
    }
    for kind, (code, message, data) in expected.items():
        err = invoke(plugin, "fail", {"kind": kind})["error"]
        assert (err["code"], err["message"], err.get("data")) == (code, message, data), kind
    err = invoke(plugin, "fail", {"kind": "badjson"})["error"]
    assert err["code"] == -33403 and "not JSON-serializable" in err["message"], "an unsendable result is -33403, as the reference answers"
    assert invoke(plugin, "echo", {})["result"]["tool"] == "refapi_echo", "the plugin keeps serving"


def test_reference_api_one_argument_on_tool_form(tmp_path):
    p = start(tmp_path, "--one-arg")
    try:
        assert invoke(p, "anything", {"x": 2})["result"] == {"one_arg": True, "args": {"x": 2}}
    finally:
        p.close()


def test_reference_api_selfcheck_of_the_standalone_helpers(plugin):
    checks = invoke(plugin, "selfcheck", {})["result"]
    assert checks["manifest_error"] is True and checks["wire_error"] is True
    assert checks["frames"] == ['{"jsonrpc":"2.0","id":1,"result":{"ok":true}}\n', '{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}\n',
                                '{"jsonrpc":"2.0","method":"broker.publish","params":{"topic":"plugin.inbound.refapi"}}\n']
    assert checks["constants"] == ["2.0", 1_048_576, 30.0, "[stdout-guard]"]
    assert checks["guard_installed"] is True
    assert checks["tool_errors"] == [True] * 5 and checks["rpc_errors"] == [True] * 4
    assert checks["tooldef"] == {"name": "refapi_x", "description": "d", "input_schema": {}}
    assert checks["event"] == ["a.b", "refapi", {"k": 1}]


def test_reference_api_shutdown_abandons_host_calls_and_runs_the_hook(plugin):
    plugin.notify("broker.event", {"topic": "plugin.outbound.refapi", "event": event("plugin.outbound.refapi", {"op": "inflight"})})
    plugin.wait_for(lambda f: f.get("method") == "memory.recall")
    assert plugin.request("shutdown", {"reason": "test"})["result"] == {"ok": True}
    assert plugin.proc.wait(timeout=5) == 0
    time.sleep(0.1)
    assert "HANDLER_GOT_TRANSPORT" in plugin.stderr and "REFAPI_SHUTDOWN_HOOK" in plugin.stderr


def test_reference_api_standalone_stdout_guard(tmp_path):
    p = start(tmp_path, "--standalone-guard")
    try:
        assert p.request("initialize", {})["result"]["manifest"]["plugin"]["id"] == "refapi"
        p.wait_for(lambda f: True)
        deadline = time.time() + 5
        while "diverted by the standalone guard" not in p.stderr and time.time() < deadline:
            time.sleep(0.02)
        assert "[stdout-guard] diverted by the standalone guard" in p.stderr
        assert p.bad_stdout == []
    finally:
        p.close()
