//! The plugin's state directory.

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;

static ADAPTER_PLUGIN_ID: OnceLock<String> = OnceLock::new();

/// `PluginAdapter` records its manifest id here so `state_dir(None)` needs no argument.
pub(crate) fn set_adapter_plugin_id(id: &str) {
    let _ = ADAPTER_PLUGIN_ID.set(id.to_string());
}

/// The plugin's state directory, created if missing: `$NEXO_PLUGIN_STATE_DIR`
/// (the host sets it), else `./.nexo-state/<id>` where `<id>` is `plugin_id`,
/// else the adapter's manifest id, else `$NEXO_PLUGIN_ID`.
///
/// ```no_run
/// let file = nexo_plugin_sdk::state_dir(None)?.join("seen.json");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn state_dir(plugin_id: Option<&str>) -> io::Result<PathBuf> {
    let dir = match std::env::var_os("NEXO_PLUGIN_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let id = plugin_id
                .map(str::to_string)
                .or_else(|| ADAPTER_PLUGIN_ID.get().cloned())
                .or_else(|| std::env::var("NEXO_PLUGIN_ID").ok().filter(|v| !v.is_empty()))
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "state_dir(): no plugin id (pass one, build a PluginAdapter first, or set NEXO_PLUGIN_STATE_DIR)"))?;
            std::env::current_dir()?.join(".nexo-state").join(id)
        }
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
