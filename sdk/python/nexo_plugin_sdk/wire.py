"""JSON-RPC 2.0 frames: one compact JSON object per line."""
from __future__ import annotations

import json
from typing import Any

from .errors import WireError

JSONRPC_VERSION = "2.0"
#: Largest frame either side may send (1 MiB).
MAX_FRAME_BYTES = 1_048_576

# allow_nan=False: NaN and Infinity are not JSON; refuse them rather than send a frame the host cannot parse.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _not_json(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


from json import encoder as _json_encoder

#: A str as a JSON string literal (UTF-8 kept, as ensure_ascii=False does).
_encode_str = _json_encoder.encode_basestring

try:

    # One C encoder for every frame (JSONEncoder.encode builds a new one, and a dict of the
    # containers it has seen, per call). Without the circular-reference dict, a cycle ends
    # in RecursionError, which the callers treat like any value JSON cannot carry.
    _c_encode = _json_encoder.c_make_encoder(None, _not_json, _json_encoder.encode_basestring, None, ":", ",", False, False, False)  # type: ignore[attr-defined,misc]

    def _encode(frame: Any) -> str:
        if type(frame) is str:
            return _encoder.encode(frame)
        return "".join(_c_encode(frame, 0))
except (AttributeError, TypeError):  # no C accelerator (PyPy, a stripped build)
    _encode = _encoder.encode


def serialize_frame(frame: Any) -> str:
    """One frame as a line of text (compact JSON, UTF-8 kept as is, ``\\n`` at the end).
    Raises WireError for a value JSON cannot carry."""
    try:
        return _encode(frame) + "\n"
    except (TypeError, ValueError, RecursionError) as exc:
        raise WireError(f"frame is not JSON-serializable: {exc!r}") from exc


def build_response(req_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "result": result}


def build_error_response(req_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "error": error}


def build_notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "method": method, "params": params}
