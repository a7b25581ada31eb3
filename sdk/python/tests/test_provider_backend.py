"""(Nexo) LLM provider and memory backend plugins: on_llm_chat and serve, over real stdio."""
from harness import PluginProcess


def test_llm_chat_plain_streamed_and_errors():
    p = PluginProcess.fixture("provider_backend.py")
    try:
        params = {"provider": "p1", "model": "m", "stream": False, "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 0}}
        r = p.request("llm.chat", params)
        assert r["result"] == {"content": {"type": "text", "text": "m:hi"}, "usage": {"prompt_tokens": 1, "completion_tokens": 2}, "finish_reason": {"kind": "stop"}}
        r = p.request("llm.chat", {**params, "stream": True})
        deltas = [f["params"] for f in p.frames if f.get("method") == "llm.chat.delta"]
        assert deltas == [{"request_id": r["id"], "chunk": {"type": "text_delta", "delta": "ab"}}, {"request_id": r["id"], "chunk": {"type": "text_delta", "delta": "cd"}}]
        assert p.frames.index(next(f for f in p.frames if f.get("method") == "llm.chat.delta")) < p.frames.index(r), "chunks before the reply"
        limit = p.request("llm.chat", {**params, "request": {**params["request"], "messages": [{"role": "user", "content": "limit"}]}})
        assert limit["error"] == {"code": -33104, "message": "slow down", "data": {"retry_after_ms": 10}}
        boom = p.request("llm.chat", {**params, "request": {**params["request"], "messages": [{"role": "user", "content": "boom"}]}})
        assert boom["error"]["code"] == -33101 and "vendor unreachable" in boom["error"]["message"]
        assert p.request("llm.chat", {"provider": "p1"})["error"]["code"] == -32602
    finally:
        p.close()


def test_serve_answers_host_requests_with_codes_from_exceptions():
    p = PluginProcess.fixture("provider_backend.py")
    try:
        item = {"id": "a", "content": "likes tea", "metadata": {"tags": []}}
        assert p.request("memory.vector_upsert", {"backend": "m1", "collection": "ada", "items": [item]})["result"] == {"upserted": 1}
        hits = p.request("memory.vector_search", {"backend": "m1", "collection": "ada", "query": "tea", "limit": 5})["result"]["hits"]
        assert hits == [dict(item, score=1.0)]
        full = p.request("memory.vector_upsert", {"backend": "m1", "collection": "full", "items": [item]})
        assert full["error"] == {"code": -33001, "message": "collection full", "data": {"why": "full"}}
        assert p.request("memory.vector_delete", {"backend": "m1", "collection": "ada", "ids": ["a"]})["error"]["code"] == -32601
    finally:
        p.close()
