"""The SDK under a real child process, driven over stdio."""
import signal
import time

import pytest

from harness import ROOT, PluginProcess, event


@pytest.fixture
def sink(tmp_path):
    p = PluginProcess.fixture("kitchen_sink.py", cwd=tmp_path)
    assert "result" in p.request("initialize", {"nexo_version": "0.1.0"})
    yield p
    p.close()


def test_initialize_shape_and_tools_catalogue():
    p = PluginProcess.fixture("kitchen_sink.py")
    try:
        r = p.request("initialize", {})
        assert r["id"] == 1
        assert r["result"]["manifest"]["plugin"]["id"] == "sink"
        assert r["result"]["server_version"] == "sink-1.2.3"
        assert [t["name"] for t in r["result"]["tools"]] == ["add", "host", "fail", "raw", "big"]
    finally:
        p.close()
    q = PluginProcess.fixture("kitchen_sink.py", "no-tools")
    try:
        assert "tools" not in q.request("initialize", {})["result"]
        assert q.request("tool.invoke", {"plugin_id": "sink", "tool_name": "add", "args": {}, "agent_id": None})["error"]["code"] == -32601
    finally:
        q.close()


def test_configure_echo_order_and_utf8(sink):
    assert sink.request("plugin.configure", {"value": {"a": 1}})["result"] == {"ok": True}
    tricky = {"s": "emoji 😀 CJK 日本語 control \u0001\t\n\"q\" \\"}
    sink.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", tricky)})
    for i in range(1000):
        sink.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"i": i})})
    sink.wait_for(lambda f: len(sink.published()) == 1001, timeout=30)
    pubs = sink.published()
    assert pubs[0]["params"]["event"]["payload"] == tricky
    assert [f["params"]["event"]["payload"]["i"] for f in pubs[1:]] == list(range(1000))
    assert all(f["params"]["topic"] == "plugin.inbound.sink" for f in pubs)


def test_unknown_method_bad_params_bad_lines(sink):
    assert sink.request("no.such", {})["error"]["code"] == -32601
    assert sink.request("tool.invoke", {"x": 1})["error"]["code"] == -32602
    sink.write(b"not json\n")
    sink.write(b"z" * 1_100_000 + b"\n")
    assert sink.request("no.such", {})["error"]["code"] == -32601
    # Logged in the reference SDK's words and dropped: never answered (the host cannot match a reply to it).
    sink.wait_stderr("plugin: malformed jsonrpc line: Expecting value")
    sink.wait_stderr("plugin: inbound frame 1100000 bytes exceeds max_frame_bytes 1048576")
    assert not any(f.get("id") is None and "error" in f for f in sink.frames)


def test_tool_invoke_results_and_error_codes(sink):
    ok = sink.request("tool.invoke", {"plugin_id": "sink", "tool_name": "add", "args": {"a": 2, "b": 3}, "agent_id": None})
    assert ok["result"] == {"content": [{"type": "text", "text": "5"}], "is_error": False}
    codes = {"not_found": -33401, "invalid": -33402, "failed": -33403, "unavailable": -33404, "denied": -33405, "crash": -33403}
    for how, code in codes.items():
        r = sink.request("tool.invoke", {"plugin_id": "sink", "tool_name": "fail", "args": {"how": how}, "agent_id": None})
        assert r["error"]["code"] == code, how
    r = sink.request("tool.invoke", {"plugin_id": "sink", "tool_name": "fail", "args": {"how": "unavailable"}, "agent_id": None})
    assert r["error"]["data"] == {"retry_after_ms": 250}


def test_host_calls_success_error_timeout_and_stream(sink):
    def call(args):
        sink.send({"jsonrpc": "2.0", "id": 900 + len(sink.frames), "method": "tool.invoke",
                   "params": {"plugin_id": "sink", "tool_name": "host", "args": args, "agent_id": None}})

    call({"call": "recall", "query": "cats"})
    req = sink.wait_for(lambda f: f.get("method") == "memory.recall")
    assert req["params"] == {"agent_id": "a1", "query": "cats", "limit": 10}
    entry = {"id": "m1", "agent_id": "a1", "content": "likes cats", "tags": ["pet"]}
    sink.send({"jsonrpc": "2.0", "id": req["id"], "result": {"entries": [entry]}})
    sink.wait_for(lambda f: f.get("result") == {"contents": ["likes cats"], "entries": [entry]})

    call({"call": "complete"})
    req = sink.wait_for(lambda f: f.get("method") == "llm.complete")
    assert "stream" not in req["params"], "a plain llm.complete omits stream, as the reference SDKs do"
    sink.send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32603, "message": "llm not configured"}})
    err = sink.wait_for(lambda f: "llm not configured" in f.get("error", {}).get("message", ""))
    assert err["error"]["code"] == -33403

    call({"call": "complete", "timeout": 0.2})
    sink.wait_for(lambda f: "did not answer llm.complete" in f.get("error", {}).get("message", ""))

    call({"call": "stream"})
    req = sink.wait_for(lambda f: f.get("method") == "llm.complete" and f["params"].get("stream") is True)
    for chunk in ["Hel", "lo"]:
        sink.notify("llm.complete.delta", {"request_id": req["id"], "chunk": chunk})
    sink.send({"jsonrpc": "2.0", "id": req["id"], "result": {"finish_reason": "stop"}})
    sink.wait_for(lambda f: f.get("result") == {"chunks": ["Hel", "lo"]})


def test_shutdown_drains_then_replies_and_exits_0(sink):
    sink.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"sleep_ms": 300})})
    time.sleep(0.05)
    r = sink.request("shutdown", {"reason": "test"})
    assert r["result"] == {"ok": True}
    assert sink.frames.index(sink.published()[0]) < sink.frames.index(r), "in-flight handler finished first"
    assert sink.proc.wait(timeout=5) == 0
    assert "shutdown hook ran" in sink.stderr


def test_sigterm_and_stdin_eof_exit_0():
    for how in ("sigterm", "eof"):
        p = PluginProcess.fixture("kitchen_sink.py")
        p.request("initialize", {})
        if how == "sigterm":
            p.proc.send_signal(signal.SIGTERM)
        else:
            p.proc.stdin.close()
        assert p.proc.wait(timeout=5) == 0, how


def test_stdout_guard_keeps_stdout_pure(sink):
    sink.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"log": "hello from plugin"})})
    sink.wait_for(lambda f: len(sink.published()) == 1)
    sink.wait_stderr("[stdout-guard] hello from plugin")
    assert sink.bad_stdout == []


def test_echo_python_example_echoes():
    p = PluginProcess(["python3", str(ROOT / "examples" / "echo-python" / "main.py")])
    try:
        assert p.request("initialize", {})["result"]["manifest"]["plugin"]["id"] == "echo_py"
        p.notify("broker.event", {"topic": "plugin.outbound.echo_py.room", "event": event("plugin.outbound.echo_py.room", {"t": 1})})
        pub = p.wait_for(lambda f: f.get("method") == "broker.publish")
        assert pub["params"]["topic"] == "plugin.inbound.echo_py.room"
        assert pub["params"]["event"]["correlation_id"] == "e1"
    finally:
        p.close()


def tool(sink, name, args, id_=None):
    return sink.request("tool.invoke", {"plugin_id": "sink", "tool_name": name, "args": args, "agent_id": None})


def test_stdout_guard_covers_fd_1_and_child_processes(sink, tmp_path):
    r = tool(sink, "raw", {})
    assert "result" in r, r
    time.sleep(0.1)
    assert sink.bad_stdout == [], "stdout carried only frames"
    assert "raw fd write" in sink.stderr
    assert "from a child process" in sink.stderr


def test_a_reply_too_large_for_one_frame_becomes_an_error_reply(sink):
    r = tool(sink, "big", {})
    assert r["error"]["code"] == -32603
    assert "exceeds" in r["error"]["message"]
    assert "result" in tool(sink, "add", {"a": 1, "b": 1}), "the plugin keeps serving"


def test_streamed_llm_complete_keeps_the_final_reply(sink):
    for call in ("stream_result", "on_delta"):
        sink.send({"jsonrpc": "2.0", "id": f"t-{call}", "method": "tool.invoke",
                   "params": {"plugin_id": "sink", "tool_name": "host", "args": {"call": call}, "agent_id": None}})
        req = sink.wait_for(lambda f: f.get("method") == "llm.complete" and f.get("id") not in handled)
        handled.add(req["id"])
        assert req["params"]["stream"] is True
        for chunk in ["a", "b", "c"]:
            sink.notify("llm.complete.delta", {"request_id": req["id"], "chunk": chunk})
        sink.send({"jsonrpc": "2.0", "id": req["id"], "result": {"finish_reason": "stop", "usage": {"output_tokens": 3}}})
        r = sink.wait_for(lambda f: f.get("id") == f"t-{call}")
        assert r["result"] == {"chunks": ["a", "b", "c"], "final": {"finish_reason": "stop", "usage": {"output_tokens": 3}},
                               "content_is_none": True}, call


handled: set = set()


def test_shutdown_abandons_pending_host_calls_with_a_typed_error(sink):
    sink.send({"jsonrpc": "2.0", "id": "recall", "method": "tool.invoke",
               "params": {"plugin_id": "sink", "tool_name": "host", "args": {"call": "recall", "query": "q"}, "agent_id": None}})
    sink.wait_for(lambda f: f.get("method") == "memory.recall")
    r = sink.request("shutdown", {"reason": "test"})
    assert r["result"] == {"ok": True}
    abandoned = sink.wait_for(lambda f: f.get("id") == "recall")
    assert abandoned["error"]["code"] == -33403
    assert "shutting down" in abandoned["error"]["message"]
    assert sink.proc.wait(timeout=5) == 0


def test_topic_tool_answers_on_the_reply_topic_and_publishes_errors(sink):
    def call(args, cid):
        ev = event("plugin.tool.sink.divide", args)
        ev["correlation_id"] = cid
        sink.notify("broker.event", {"topic": "plugin.tool.sink.divide", "event": ev})
        return sink.wait_for(lambda f: f.get("method") == "broker.publish" and f["params"]["event"].get("correlation_id") == cid)

    ok = call({"a": 6, "b": 3}, "c-ok")
    assert ok["params"]["topic"] == "plugin.tool.sink.divide.reply"
    assert ok["params"]["event"]["payload"] == {"result": 2.0}
    bad = call({"a": 1, "b": 0}, "c-bad")
    assert bad["params"]["event"]["payload"]["error"]["code"] == -33403
    assert "division" in bad["params"]["event"]["payload"]["error"]["message"]


def test_plain_function_handlers_work():
    p = PluginProcess.fixture("kitchen_sink.py", "sync")
    try:
        p.request("initialize", {})
        r = p.request("tool.invoke", {"plugin_id": "sink", "tool_name": "sync_add", "args": {"a": 2, "b": 2}, "agent_id": None})
        assert r["result"]["content"][0]["text"] == "4"
    finally:
        p.close()


def test_drain_deadline_bounds_a_stuck_handler():
    p = PluginProcess.fixture("kitchen_sink.py", "short-drain")
    try:
        p.request("initialize", {})
        p.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"sleep_ms": 60_000})})
        time.sleep(0.05)
        assert p.request("shutdown", {"reason": "test"}, timeout=10)["result"] == {"ok": True}
        assert p.proc.wait(timeout=5) == 0
        assert "still running after 0.3 s" in p.stderr
    finally:
        p.close()


def test_a_second_sigterm_while_draining_exits_at_once_with_1():
    p = PluginProcess.fixture("kitchen_sink.py")
    try:
        p.request("initialize", {})
        p.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"sleep_ms": 60_000})})
        time.sleep(0.05)
        p.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert p.proc.poll() is None, "the first SIGTERM drains"
        p.proc.send_signal(signal.SIGTERM)
        assert p.proc.wait(timeout=5) == 1
    finally:
        p.close()


def test_state_dir_defaults_to_the_adapters_plugin_id(tmp_path):
    p = PluginProcess.fixture("kitchen_sink.py", cwd=tmp_path)
    try:
        p.request("initialize", {})
        r = p.request("tool.invoke", {"plugin_id": "sink", "tool_name": "raw", "args": {}, "agent_id": None})
        assert r["result"]["content"][0]["text"] == str(tmp_path / ".nexo-state" / "sink")
        assert (tmp_path / ".nexo-state" / "sink").is_dir()
    finally:
        p.close()


def test_events_run_one_at_a_time_by_default_or_overlap_with_ordered_events_false():
    def two_recalls(p):
        p.request("initialize", {})
        for q in ("alpha", "beta"):
            p.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"recall": q})})
        p.wait_for(lambda f: f.get("method") == "memory.recall")
        time.sleep(0.3)
        return [f for f in p.frames if f.get("method") == "memory.recall"]

    ordered = PluginProcess.fixture("kitchen_sink.py")
    concurrent = PluginProcess.fixture("kitchen_sink.py", "concurrent")
    try:
        assert len(two_recalls(ordered)) == 1, "the second handler waits for the first"
        reqs = two_recalls(concurrent)
        assert [r["params"]["query"] for r in reqs] == ["alpha", "beta"], "the reference SDK's behaviour: both in flight"
        # Answered out of order, each handler gets its own reply.
        for r in reversed(reqs):
            concurrent.send({"jsonrpc": "2.0", "id": r["id"], "result": {"entries": [{"id": "m", "agent_id": "a1", "content": r["params"]["query"]}]}})
        concurrent.wait_for(lambda f: len(concurrent.published()) == 2)
        assert [f["params"]["event"]["payload"]["recalled"] for f in concurrent.published()] == [["beta"], ["alpha"]]
    finally:
        ordered.close()
        concurrent.close()


def test_exit_on_shutdown_ends_a_process_that_a_thread_would_keep_alive():
    p = PluginProcess.fixture("lingering.py")
    kept = PluginProcess.fixture("lingering.py", "keep")
    try:
        for q in (p, kept):
            assert q.request("shutdown", {"reason": "test"})["result"] == {"ok": True}
        assert p.proc.wait(timeout=10) == 0, "exit_on_shutdown (default) ends the process"
        deadline = time.time() + 5
        while "run() returned" not in p.stderr and time.time() < deadline:
            time.sleep(0.05)
        assert "run() returned" in p.stderr, "code after run() still ran"
        kept.wait_for(lambda f: True)
        deadline = time.time() + 10
        while "run() returned" not in kept.stderr and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        assert kept.proc.poll() is None, "exit_on_shutdown=False leaves the process to its threads"
    finally:
        p.close()
        kept.close()


def test_stdout_guard_forwards_a_printed_json_object_line_as_a_frame(sink):
    frame = '{"jsonrpc":"2.0","method":"broker.publish","params":{"topic":"plugin.inbound.sink","event":{"topic":"plugin.inbound.sink","source":"sink","payload":{"printed":true}}}}'
    sink.notify("broker.event", {"topic": "plugin.outbound.sink", "event": event("plugin.outbound.sink", {"log": frame})})
    sink.wait_for(lambda f: f.get("params", {}).get("event", {}).get("payload") == {"printed": True})
    assert "[stdout-guard] {" not in sink.stderr, "a whole JSON-object line is a frame, as the reference SDK's guard forwards it"
    assert sink.bad_stdout == []
