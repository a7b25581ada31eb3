"""Reading the plugin manifest (``nexo-plugin.toml``)."""
from __future__ import annotations

import re
import tomllib
from typing import Any

from .errors import ManifestError

#: What a plugin id must look like (the host enforces the same rule).
PLUGIN_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def read_manifest(manifest_toml: str) -> dict[str, Any]:
    """Parse and check a manifest: valid TOML with a ``[plugin]`` table whose ``id``
    matches ``^[a-z][a-z0-9_]{0,31}$``. Returns the whole manifest as a dict; raises
    ManifestError (also a ValueError) naming what is wrong.

    Example:
        manifest = read_manifest(Path("nexo-plugin.toml").read_text())
        plugin_id = manifest["plugin"]["id"]
    """
    if not isinstance(manifest_toml, str):
        raise TypeError(f"read_manifest needs the manifest text (str), got {type(manifest_toml).__name__}")
    try:
        manifest = tomllib.loads(manifest_toml)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"manifest_toml is not valid TOML: {exc}") from exc
    plugin = manifest.get("plugin")
    if not isinstance(plugin, dict):
        raise ManifestError("manifest_toml has no [plugin] table (and so no [plugin].id)")
    pid = plugin.get("id")
    if not isinstance(pid, str) or not pid:
        raise ManifestError("manifest_toml has no [plugin].id")
    if not PLUGIN_ID_PATTERN.match(pid):
        raise ManifestError(f"[plugin].id {pid!r} must match ^[a-z][a-z0-9_]{{0,31}}$")
    return manifest


def manifest_extends_tools(manifest: dict[str, Any]) -> list[str] | None:
    """``[plugin.extends].tools`` of a parsed manifest, or None when absent."""
    plugin = manifest.get("plugin")
    extends = plugin.get("extends") if isinstance(plugin, dict) else None
    tools = extends.get("tools") if isinstance(extends, dict) else None
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ManifestError("[plugin.extends].tools must be a list of tool names")
    return list(tools)
