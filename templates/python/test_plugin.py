"""Runs the plugin (main.py) as the daemon would: JSON-RPC over its stdin/stdout.
`python3 -m unittest` (or pytest); `nexo plugin test .` runs the full conformance kit."""
import json
import re
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN_ID = re.search(r'^id\s*=\s*"([^"]+)"', (HERE / "nexo-plugin.toml").read_text(), re.M).group(1)


class PluginTest(unittest.TestCase):
    def setUp(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "main.py"], cwd=HERE, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(self._stop)

    def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream and not stream.closed:
                stream.close()

    def send(self, frame: dict) -> None:
        self.proc.stdin.write((json.dumps(frame) + "\n").encode())
        self.proc.stdin.flush()

    def next_frame(self, pred) -> dict:
        while True:
            line = self.proc.stdout.readline()
            self.assertTrue(line, "the plugin closed stdout")
            frame = json.loads(line)  # every stdout line must be a JSON frame
            if pred(frame):
                return frame

    def test_initialize_echo_and_clean_shutdown(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"nexo_version": "0.1.0"}})
        init = self.next_frame(lambda f: f.get("id") == 1)
        self.assertEqual(init["result"]["manifest"]["plugin"]["id"], PLUGIN_ID)

        topic = f"plugin.outbound.{PLUGIN_ID}"
        event = {"id": "e-1", "timestamp": "2026-01-01T00:00:00Z", "topic": topic, "source": "test", "session_id": None, "payload": {"text": "hi"}}
        self.send({"jsonrpc": "2.0", "method": "broker.event", "params": {"topic": topic, "event": event}})
        pub = self.next_frame(lambda f: f.get("method") == "broker.publish")
        self.assertEqual(pub["params"]["topic"], f"plugin.inbound.{PLUGIN_ID}")
        self.assertEqual(pub["params"]["event"]["payload"], {"text": "hi"})

        self.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": {"reason": "test"}})
        self.assertEqual(self.next_frame(lambda f: f.get("id") == 2)["result"], {"ok": True})
        self.assertEqual(self.proc.wait(timeout=5), 0)


if __name__ == "__main__":
    unittest.main()
