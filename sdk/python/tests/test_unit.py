import re

import pytest
import time

from nexo_plugin_sdk import Event, uuid7
from nexo_plugin_sdk.framing import LineDecoder


def decode(chunks, max_bytes=1024):
    values, bad = [], []
    d = LineDecoder(max_bytes, values.append, lambda k, p: bad.append(k))
    for c in chunks:
        d.push(c)
    d.end()
    return values, bad


def test_framing_partial_lines_crlf_and_blank_lines():
    data = '{"a":1}\r\n\n  \n{"b":"日本 😀"}\n{"c"'.encode() + b':3}'
    values, bad = decode([data[i:i + 1] for i in range(len(data))])
    assert values == [{"a": 1}, {"b": "日本 😀"}, {"c": 3}]
    assert bad == []


def test_framing_invalid_utf8_non_json_and_oversize_lines_are_skipped():
    values, bad = decode([b"\xff\xfe\n", b"nope\n", b'{"big":"' + b"x" * 5000 + b'"}\n', b'{"ok":1}\n',
                          b'{"s":"\xff"}\n'])
    # Bytes that are not UTF-8 are replaced before parsing (as the reference SDK does).
    assert values == [{"ok": 1}, {"s": "\ufffd"}]
    assert bad == ["invalid_json", "invalid_json", "too_large"]


def test_framing_does_not_buffer_an_oversize_line():
    d = LineDecoder(1024, lambda v: None, lambda k, p: None)
    for _ in range(100):
        d.push(b"y" * 512)
        assert len(d.buf) <= 1025


def test_event_new_has_all_fields_and_uuid7_sorts_by_time():
    e = Event.new("a.b", "me", {"x": 1})
    d = e.to_dict()
    assert sorted(d) == ["id", "payload", "session_id", "source", "timestamp", "topic"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", e.id)
    assert d["timestamp"].endswith("Z")
    a = uuid7()
    time.sleep(0.002)
    assert a < uuid7()


def test_conformance_probe_is_added_only_under_the_runner():
    import asyncio

    from nexo_plugin_sdk import PROBE_ENV, PROBE_TOOL, ToolDef, ToolNotFound, conformance_probe
    from nexo_plugin_sdk.tools import ToolInvocation

    mine = ToolDef("lookup", "mine")

    async def my_tool(inv, ctx):
        return "mine"

    assert conformance_probe(env={}) == {}
    assert conformance_probe(tools=[mine], on_tool=my_tool, env={}) == {"tools": [mine], "on_tool": my_tool}
    assert conformance_probe(tools=[mine], on_tool=my_tool, env={PROBE_ENV: "0"})["tools"] == [mine]
    under = conformance_probe(tools=[mine], on_tool=my_tool, env={PROBE_ENV: "1"})
    assert [t.name for t in under["tools"]] == ["lookup", PROBE_TOOL]

    def inv(name, args):
        return ToolInvocation(plugin_id="p", tool_name=name, args=args, agent_id=None)

    assert asyncio.run(under["on_tool"](inv("lookup", {}), None)) == "mine", "other names reach your handler"
    assert asyncio.run(under["on_tool"](inv(PROBE_TOOL, {"action": "echo", "text": "t"}), None)) == {"content": [{"type": "text", "text": "t"}], "is_error": False}
    bare = conformance_probe(env={PROBE_ENV: "1"})
    with pytest.raises(ToolNotFound):
        asyncio.run(bare["on_tool"](inv("other", {}), None))


def test_probe_argument_errors_are_typed_with_details():
    import asyncio

    from nexo_plugin_sdk import ToolArgumentInvalid as ToolInvalidArguments, ToolUnavailable
    from nexo_plugin_sdk.conformance import run_probe

    for args in ({}, {"action": "echo"}, {"action": "nope"}, {"action": "fail", "code": 1}):
        with pytest.raises(ToolInvalidArguments) as exc:
            asyncio.run(run_probe(args, None))
        assert exc.value.code == -33402 and exc.value.data["details"], args
    with pytest.raises(ToolUnavailable) as exc:
        asyncio.run(run_probe({"action": "fail", "code": -33404}, None))
    assert exc.value.data == {"retry_after_ms": 250}


def test_adapter_options_are_validated_naming_the_option():
    from nexo_plugin_sdk import PluginAdapter

    manifest = '[plugin]\nid = "x"\nversion = "1.0.0"\n'
    for bad in ({"max_frame_bytes": 0}, {"host_call_timeout": -1}, {"max_queued_events": "10"}, {"drain_timeout": True}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            PluginAdapter(manifest_toml=manifest, **bad)
    with pytest.raises(ValueError, match="not valid TOML"):
        PluginAdapter(manifest_toml="[plugin")
    with pytest.raises(ValueError, match=r"\[plugin\]\.id"):
        PluginAdapter(manifest_toml="[plugin]\nversion = '1'\n")
    with pytest.raises(TypeError):
        PluginAdapter(manifest_toml=None)  # type: ignore[arg-type]
    assert PluginAdapter(manifest_toml=manifest).server_version == "x-1.0.0"


def test_frames_refuse_values_json_cannot_carry():
    from nexo_plugin_sdk.framing import encode_frame

    assert encode_frame({"s": "日本 😀"}) == '{"s":"日本 😀"}\n'.encode()
    for bad in ({"x": float("nan")}, {"x": float("inf")}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            encode_frame(bad)


def test_pip_installs_the_sdk_from_its_folder(tmp_path):
    """`pip install ./sdk/python` works: install into a target dir (offline, with the setuptools already here) and import it."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    # A copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    sdk = tmp_path / "sdk"
    shutil.copytree(Path(__file__).resolve().parents[1], sdk, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__", ".nexo-state"))
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                        "--target", str(target), str(sdk)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    probe = subprocess.run([sys.executable, "-c", "import nexo_plugin_sdk, sys; print(nexo_plugin_sdk.__file__); print(nexo_plugin_sdk.PluginAdapter.__name__)"],
                           capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines()[0].startswith(str(target))
    assert (target / "nexo_plugin_sdk" / "py.typed").exists()


def test_framing_each_line_is_one_frame_and_deep_nesting_is_a_bad_line_not_a_crash():
    deep = b"[" * 100_000 + b"]" * 100_000
    values, bad = decode([b'{"a":\n1}\n', deep + b"\n", b'{"ok":2}\r\n', b'  {"ws":3}\n'], max_bytes=1 << 20)
    # JSON running past its newline is not a frame; each line is judged alone.
    assert values == [{"ok": 2}, {"ws": 3}]
    assert bad == ["invalid_json", "invalid_json", "invalid_json"]


def test_framing_the_same_values_whatever_the_chunking():
    import random

    lines = [b'{"i":%d,"s":"\xc3\xa9\xf0\x9f\x98\x80"}' % i for i in range(300)] + [b"not json", b"", b"\xff\xfe", b'{"x":' + b'"y' * 700 + b'"}']
    data = b"\n".join(lines) + b"\n"
    whole = decode([data], max_bytes=1000)
    rnd = random.Random(7)
    for _ in range(20):
        chunks, i = [], 0
        while i < len(data):
            n = rnd.randint(1, 700)
            chunks.append(data[i:i + n])
            i += n
        assert decode(chunks, max_bytes=1000) == whole
    assert len(whole[0]) == 300 and whole[1] == ["invalid_json", "invalid_json", "too_large"]
