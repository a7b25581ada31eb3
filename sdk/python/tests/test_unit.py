import re
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
    values, bad = decode([b"\xff\xfe\n", b"nope\n", b'{"big":"' + b"x" * 5000 + b'"}\n', b'{"ok":1}\n'])
    assert values == [{"ok": 1}]
    assert bad == ["invalid_utf8", "invalid_json", "too_large"]


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
