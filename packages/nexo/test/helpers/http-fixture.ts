import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { writeFixtureManifest } from "./fixture-manifest.js";

/** Absolute path of the HTTP fixture plugin (test/fixtures/plugins/http-plugin.mjs). */
export const HTTP_FIXTURE_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/http-plugin.mjs", import.meta.url));

/** Options of `httpFixturePlugin`; every field has a default. */
export interface HttpFixtureOptions {
  /** Plugin id. Default "web". */
  id?: string;
  /** `[plugin.http] mount_prefix`; null leaves `[plugin.http]` out. Default "/hooks/<id>". */
  mountPrefix?: string | null;
  /** `[plugin.http] timeout_seconds`. Default 30. */
  timeoutSeconds?: number;
  /** `[plugin.capabilities.http_server] port`. Default 0 (allocated). */
  port?: number;
  /** Health stays 503 until `<state dir>/healthy` exists. Default false. */
  gatedHealth?: boolean;
  supervisor?: { respawn?: boolean; max_attempts?: number; backoff_ms?: number };
}

/** Write a plugin dir running the HTTP fixture and load its manifest. */
export function httpFixturePlugin(root: string, options: HttpFixtureOptions = {}): PluginManifest {
  const id = options.id ?? "web";
  const sup = options.supervisor ?? {};
  const prefix = options.mountPrefix === undefined ? `/hooks/${id}` : options.mountPrefix;
  const dir = writeFixtureManifest(join(root, `${id}-http`), {
    id,
    version: "0.1.0",
    entrypoint: { command: process.execPath, args: [HTTP_FIXTURE_SCRIPT], env: { FIXTURE_HEALTH: options.gatedHealth ? "gated" : "open" } },
    channels: { register: [{ kind: id }] },
    supervisor: { respawn: sup.respawn ?? true, max_attempts: sup.max_attempts ?? 3, backoff_ms: sup.backoff_ms ?? 50 },
    capabilities: { http_server: { port: options.port ?? 0, bind: "127.0.0.1", health_path: "/health" } },
    ...(prefix === null ? {} : { http: { mount_prefix: prefix, timeout_seconds: options.timeoutSeconds ?? 30 } }),
  });
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}
