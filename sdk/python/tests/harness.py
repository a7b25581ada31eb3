"""Drives a real plugin child over stdio, playing the host."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[3]


class PluginProcess:
    def __init__(self, args: list[str], cwd: "Path | None" = None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NEXO_PLUGIN_STATE_DIR"}
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.frames: list[dict[str, Any]] = []
        self.stderr = ""
        self.bad_stdout: list[bytes] = []
        self._next = 1
        self._lock = threading.RLock()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    @classmethod
    def fixture(cls, name: str, *extra: str, cwd: "Path | None" = None) -> "PluginProcess":
        return cls([sys.executable, str(Path(__file__).parent / "fixtures" / name), *extra], cwd=cwd)

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                frame = json.loads(line)
            except ValueError:
                self.bad_stdout.append(line)
                continue
            with self._lock:
                self.frames.append(frame)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr += line.decode("utf-8", "replace")

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, frame: dict[str, Any]) -> None:
        self.write((json.dumps(frame, ensure_ascii=False) + "\n").encode())

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 10) -> dict[str, Any]:
        id_ = self._next
        self._next += 1
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            frame["params"] = params
        self.send(frame)
        return self.wait_for(lambda f: f.get("id") == id_ and ("result" in f or "error" in f), timeout)

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                for f in self.frames:
                    if pred(f):
                        return f
            time.sleep(0.005)
        raise AssertionError(f"timed out; stderr:\n{self.stderr}")

    def wait_stderr(self, text: str, timeout: float = 10) -> None:
        """Wait until the plugin has written `text` to stderr: its reader thread may lag behind the frames on a busy machine."""
        deadline = time.time() + timeout
        while text not in self.stderr:
            if time.time() > deadline:
                raise AssertionError(f"{text!r} never reached stderr; stderr:\n{self.stderr}")
            time.sleep(0.005)

    def published(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f for f in self.frames if f.get("method") == "broker.publish"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def event(topic: str, payload: Any) -> dict[str, Any]:
    return {"id": "e1", "timestamp": "2026-01-01T00:00:00Z", "topic": topic, "source": "test", "session_id": None, "payload": payload}
