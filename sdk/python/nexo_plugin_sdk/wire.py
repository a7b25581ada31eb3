"""JSON-RPC 2.0 frames: one compact JSON object per line."""
from __future__ import annotations

import json
from typing import Any

from .errors import WireError

JSONRPC_VERSION = "2.0"
#: Largest frame either side may send (1 MiB).
MAX_FRAME_BYTES = 1_048_576

# One encoder for every frame: json.dumps with options builds a new encoder per call.
# allow_nan=False: NaN and Infinity are not JSON; refuse them rather than send a frame the host cannot parse.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def serialize_frame(frame: Any) -> str:
    """One frame as a line of text (compact JSON, UTF-8 kept as is, ``\\n`` at the end).
    Raises WireError for a value JSON cannot carry."""
    try:
        return _encode(frame) + "\n"
    except (TypeError, ValueError) as exc:
        raise WireError(f"frame is not JSON-serializable: {exc}") from exc


def build_response(req_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "result": result}


def build_error_response(req_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC_VERSION, "id": req_id, "error": error}


def build_notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "method": method, "params": params}
