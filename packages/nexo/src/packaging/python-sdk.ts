import { spawnSync } from "node:child_process";
import { isAbsolute, resolve } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";

// Runs in the plugin's own interpreter: the SDK as the plugin itself would import it. When a
// plain import fails, the entry module's top level (its own sys.path set-up) runs first, without
// its `if __name__ == "__main__"` block.
const PROBE = [
  "import importlib.util, os, sys",
  "entry = os.path.abspath(sys.argv[1])",
  "sys.path.insert(0, os.path.dirname(entry))",
  "try:",
  "    import nexo_plugin_sdk",
  "except ImportError:",
  "    spec = importlib.util.spec_from_file_location('_nexo_pack_probe', entry)",
  "    module = importlib.util.module_from_spec(spec)",
  "    spec.loader.exec_module(module)",
  "    try:",
  "        import nexo_plugin_sdk",
  "    except ImportError:",
  "        print('')",
  "        sys.exit(0)",
  "print(os.path.dirname(os.path.abspath(nexo_plugin_sdk.__file__)))",
].join("\n");

/**
 * Where the Python SDK (`nexo_plugin_sdk`) that the plugin imports lives,
 * asked of the plugin's own interpreter from the plugin's directory; null
 * when the plugin does not use it.
 */
export function findPythonSdk(root: string, command: string, entry: string, env: Record<string, string>): string | null {
  const interpreter = command.includes("/") && !isAbsolute(command) ? resolve(root, command) : command;
  const r = spawnSync(interpreter, ["-c", PROBE, entry], { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr ?? "").trim().split("\n").slice(-3).join(" ");
    throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `cannot ask ${command} where nexo_plugin_sdk is (needed to vendor it into the pack): ${why}`, { file: resolve(root, entry) });
  }
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  return dir === "" ? null : dir;
}
