import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
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
    throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `cannot ask ${command} where nexo_plugin_sdk is (needed to vendor it into the pack): ${why}`, {
      file: resolve(root, entry),
    });
  }
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  return dir === "" ? null : dir;
}

/** The virtualenv directory (relative POSIX path) when `command` is a venv's interpreter inside the plugin (`.venv/bin/python`), else null. */
export function pluginVirtualenv(root: string, command: string): string | null {
  if (!command.includes("/") || isAbsolute(command)) return null;
  const parts = command.replace(/^\.\//, "").split("/");
  if (parts.length < 3 || parts[parts.length - 2] !== "bin" || !/^python(\d+(\.\d+)?)?$/.test(parts[parts.length - 1])) return null;
  const venv = parts.slice(0, -2).join("/");
  return existsSync(resolve(root, venv, "pyvenv.cfg")) ? venv : null;
}

/** Installed into every virtualenv by pip itself; never part of a plugin's dependencies. */
const VENV_TOOLING = /^(pip|setuptools|wheel|_distutils_hack|pkg_resources|distutils-precedence\.pth|__pycache__)$|\.(dist-info|egg-info|pth)$|^_virtualenv/;

/**
 * The plugin's own installed packages in a virtualenv's site-packages (the
 * SDK wheel and whatever else it installed), minus pip's tooling, as
 * top-level names to vendor beside the entry file.
 */
export function virtualenvPackages(root: string, command: string, env: Record<string, string>): { dir: string; names: string[] } {
  const interpreter = resolve(root, command);
  const r = spawnSync(interpreter, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.error || r.status !== 0) {
    throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `cannot ask ${command} for its site-packages: ${r.error?.message ?? r.stderr.trim()}`, { file: interpreter });
  }
  const dir = r.stdout.trim();
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => !VENV_TOOLING.test(n))
        .sort()
    : [];
  return { dir, names };
}
