"""Channel methods and hook.on_hook under a real child process."""
from harness import PluginProcess


def send(p, msg, instance="a"):
    return p.request("channel.send_outbound", {"kind": "chat", "msg": msg, "instance": instance})


def test_channel_methods_answer_and_raise_the_contract_codes():
    p = PluginProcess.fixture("channel_hook.py")
    try:
        assert p.request("channel.start", {"kind": "chat", "instance": "a"})["result"] == {"ok": True}
        assert p.request("channel.stop", {"kind": "chat"})["result"] == {"ok": True}
        assert send(p, {"kind": "text", "to": "1", "body": "hi"})["result"] == {"message_id": "chat:a:1", "sent_at_unix": 1700000000}
        limited = send(p, {"kind": "text", "to": "limited", "body": "x"})["error"]
        assert limited == {"code": -33004, "message": "rate limited", "data": {"retry_after_secs": 12}}
        assert send(p, {"kind": "text", "to": "nobody", "body": "x"})["error"]["data"] == {"recipient": "nobody", "reason": "unknown chat"}
        assert send(p, {"kind": "media", "to": "1", "url": "u"})["error"]["code"] == -33005
        crashed = send(p, {"kind": "text", "to": "crash", "body": "x"})["error"]
        assert crashed["code"] == -32603 and "socket closed" in crashed["message"]
        assert p.request("channel.send_outbound", {"kind": "chat"})["error"]["code"] == -32602
        assert p.request("channel.start", {})["error"]["code"] == -32602
    finally:
        p.close()


def test_hook_on_hook_answers_the_handlers_response_and_empty_for_allow():
    p = PluginProcess.fixture("channel_hook.py")
    try:
        r = p.request("hook.on_hook", {"plugin_id": "chan", "hook_name": "before_message", "event": {"body": "spam!"}})
        assert r["result"] == {"decision": "block", "reason": "before_message by chan"}
        assert p.request("hook.on_hook", {"plugin_id": "chan", "hook_name": "before_message", "event": {"body": "hi"}})["result"] == {}
    finally:
        p.close()


def test_without_handlers_channel_and_hook_methods_are_method_not_found():
    p = PluginProcess.fixture("channel_hook.py", "bare")
    try:
        for method in ("channel.start", "channel.send_outbound", "hook.on_hook"):
            assert p.request(method, {"kind": "chat", "hook_name": "x", "msg": {"kind": "text"}})["error"]["code"] == -32601, method
    finally:
        p.close()
