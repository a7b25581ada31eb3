"""Every code block of the SDK README is run or checked, so the docs cannot drift from the SDK:
the quick start runs as a real plugin, the host-call block runs against the real BrokerSender
(with canned host replies), each pattern skeleton runs after the stated preamble with every
global name it uses resolved, and every TOML block parses as a manifest."""
import asyncio
import builtins
import dis
import json
import re
import sys
import tomllib
import types
from pathlib import Path

import pytest

from harness import PluginProcess, event
from nexo_plugin_sdk import BrokerSender, read_manifest

README = Path(__file__).resolve().parents[1] / "README.md"
SDK = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str, str]]:
    """(language, code, the prose just before the block)."""
    text = README.read_text()
    out, last = [], 0
    for m in BLOCK.finditer(text):
        out.append((m.group(1), m.group(2), text[last:m.start()]))
        last = m.end()
    return out


def python_blocks() -> list[tuple[str, str]]:
    return [(code, before) for lang, code, before in blocks() if lang == "python"]


def stand_ins(prose: str) -> set[str]:
    """Names a block says are the reader's own code ("your code: `a`, `b`")."""
    m = re.search(r"[Yy]our code: ((?:`\w+`(?:, )?)+)", prose.strip().split("\n\n")[-1])
    return set(re.findall(r"`(\w+)`", m.group(1))) if m else set()


def global_names(code: types.CodeType) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


PREAMBLE_MARK = "MANIFEST = Path(\"nexo-plugin.toml\").read_text()"


def preamble() -> str:
    found = [code for code, _ in python_blocks() if PREAMBLE_MARK in code]
    assert len(found) == 1, "the patterns' preamble block is in the README"
    return found[0]


def test_readme_every_toml_block_is_a_manifest_the_sdk_reads():
    tomls = [code for lang, code, _ in blocks() if lang == "toml"]
    assert tomls
    for code in tomls:
        manifest = read_manifest(code)
        assert tomllib.loads(code) == manifest


def test_readme_quick_start_runs_as_a_plugin(tmp_path):
    lang_code = blocks()
    quick = next(code for lang, code, _ in lang_code if lang == "python" and "asyncio.run(PluginAdapter(" in code)
    manifest = next(code for lang, code, _ in lang_code if lang == "toml" and 'id = "my_plugin"' in code)
    (tmp_path / "main.py").write_text(f"import sys\nsys.path.insert(0, {str(SDK)!r})\n" + quick)
    (tmp_path / "nexo-plugin.toml").write_text(manifest)
    p = PluginProcess([sys.executable, str(tmp_path / "main.py")], cwd=tmp_path)
    try:
        assert p.request("initialize", {})["result"]["manifest"]["plugin"]["id"] == "my_plugin"
        ev = event("plugin.outbound.my_plugin", {"text": "hi"})
        ev["session_id"] = "0190c4f2-7b1e-7cc0-8a3e-1d2f3a4b5c6d"
        p.notify("broker.event", {"topic": "plugin.outbound.my_plugin", "event": ev})
        pub = p.wait_for(lambda f: f.get("method") == "broker.publish")
        assert pub["params"]["topic"] == "plugin.inbound.my_plugin"
        assert pub["params"]["event"]["payload"] == {"text": "hi"}
        assert pub["params"]["event"]["session_id"] == ev["session_id"]
        assert pub["params"]["event"]["correlation_id"] == "e1", "the reply correlates itself"
        assert p.request("shutdown", {"reason": "test"})["result"] == {"ok": True}
        assert p.proc.wait(timeout=5) == 0
    finally:
        p.close()


class _CannedHost:
    """Stands in for the adapter behind a real BrokerSender: records requests, answers them."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self._subscriptions: dict = {}

    async def _send(self, frame, droppable=False):
        self.requests.append((frame["method"], frame["params"]))

    async def _request(self, method, params, timeout=None, on_delta=None):
        self.requests.append((method, params))
        if method == "memory.recall":
            return {"entries": [{"id": "m1", "agent_id": params["agent_id"], "content": "likes short answers"}]}
        if on_delta is not None:
            for chunk in ("once ", "upon"):
                on_delta(chunk)
            return {"finish_reason": "stop", "usage": {"prompt_tokens": 2, "completion_tokens": 2}}
        return {"content": "ok", "finish_reason": "stop", "usage": {"prompt_tokens": 5, "completion_tokens": 1}}


def test_readme_host_calls_block_runs_against_the_real_broker_sender():
    code = next(code for code, _ in python_blocks() if "broker.memory_recall(" in code and "async def on_event" in code and "llm_complete_stream" in code)
    ns: dict = {}
    exec(compile(code, "README.md:host-calls", "exec"), ns)

    async def go():
        broker = BrokerSender(asyncio.Lock())
        host = _CannedHost()
        broker._a, broker._post = host, None
        result, chunks, finish, tokens = await ns["on_event"]("plugin.outbound.x", None, broker)
        return host.requests, result, chunks, finish, tokens

    requests, result, chunks, finish, tokens = asyncio.run(go())
    assert [m for m, _ in requests] == ["memory.recall", "llm.complete", "llm.complete"]
    assert requests[0][1] == {"agent_id": "my_agent", "query": "preferences", "limit": 5}
    assert "stream" not in requests[1][1] and requests[2][1]["stream"] is True
    assert (result.content, chunks, finish, tokens) == ("ok", ["once ", "upon"], "stop", 2)


def test_readme_every_python_block_runs_after_the_preamble_with_its_names_defined(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "t")  # pattern 8 reads it at import, as a plugin would
    (tmp_path / "nexo-plugin.toml").write_text('[plugin]\nid = "my_plugin"\nversion = "0.1.0"\n')
    pre = preamble()
    checked = 0
    for code, before in python_blocks():
        ns: dict = {"__name__": "readme_snippet"}
        is_program = "asyncio.run(" in code  # a whole program (the quick start): compiled here, run by its own test
        source = code if is_program or PREAMBLE_MARK in code else pre + "\n" + code
        compiled = compile(source, f"README.md block {checked}", "exec")
        if not is_program:
            exec(compiled, ns)
        defined = set(ns) | set(dir(builtins)) | stand_ins(before) | {"__file__"}
        if is_program:
            defined |= {i.argval for i in dis.get_instructions(compiled) if i.opname in ("STORE_NAME", "STORE_GLOBAL")}
        missing = sorted(global_names(compiled) - defined)
        assert missing == [], f"README block {checked} uses undefined names {missing}:\n{code}"
        checked += 1
    assert checked == len(python_blocks()) >= 10


def test_readme_snippet_check_catches_an_undefined_name():
    code = "async def main():\n    await PluginAdapter(manifest_toml=MANIFEST, on_event=no_such_handler).run()\n"
    ns: dict = {}
    exec(compile("MANIFEST = ''\nfrom nexo_plugin_sdk import PluginAdapter\n" + code, "probe", "exec"), ns)
    assert global_names(compile(code, "probe", "exec")) - set(ns) - set(dir(builtins)) == {"no_such_handler"}
