"""The plugin's state directory."""
from __future__ import annotations

import os
from pathlib import Path

_default_plugin_id: str | None = None


def _set_default_plugin_id(plugin_id: str) -> None:
    """PluginAdapter records its manifest id here so state_dir() needs no argument."""
    global _default_plugin_id
    _default_plugin_id = plugin_id


def state_dir(plugin_id: str | None = None) -> Path:
    """The plugin's state directory, created if missing: $NEXO_PLUGIN_STATE_DIR (set by
    the host), else ./.nexo-state/<id> where <id> is plugin_id, else the adapter's
    manifest id, else $NEXO_PLUGIN_ID.

    Example:
        (state_dir() / "cursor.json").write_text(json.dumps(cursor))
    """
    env = os.environ.get("NEXO_PLUGIN_STATE_DIR")
    if env:
        path = Path(env)
    else:
        pid = plugin_id or _default_plugin_id or os.environ.get("NEXO_PLUGIN_ID")
        if not pid:
            raise ValueError("state_dir(): no plugin id (pass one, construct a PluginAdapter first, or set NEXO_PLUGIN_STATE_DIR)")
        path = Path.cwd() / ".nexo-state" / pid
    path.mkdir(parents=True, exist_ok=True)
    return path
