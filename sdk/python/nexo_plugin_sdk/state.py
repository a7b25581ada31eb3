"""The plugin's state directory."""
from __future__ import annotations

import os
from pathlib import Path


def state_dir(plugin_id: str | None = None) -> Path:
    """$NEXO_PLUGIN_STATE_DIR (set by the host), else ./.nexo-state/<id>; created if missing."""
    env = os.environ.get("NEXO_PLUGIN_STATE_DIR")
    path = Path(env) if env else Path.cwd() / ".nexo-state" / (plugin_id or os.environ.get("NEXO_PLUGIN_ID", "plugin"))
    path.mkdir(parents=True, exist_ok=True)
    return path
