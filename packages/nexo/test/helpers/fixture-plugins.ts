import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { writeFixtureManifest } from "./fixture-manifest.js";

/** Absolute path of the raw NDJSON fixture plugin (test/fixtures/plugins/fixture-plugin.mjs). */
export const FIXTURE_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/fixture-plugin.mjs", import.meta.url));

export interface FixtureOptions {
  id?: string;
  mode: string;
  kind?: string;
  tools?: string[];
  supervisor?: { respawn?: boolean; max_attempts?: number; backoff_ms?: number; stderr_tail_lines?: number };
  env?: Record<string, string>;
  /** The `tools` catalogue the fixture returns from `initialize` (names must also be in `tools`). */
  catalogue?: Array<{ name: string; description?: string; input_schema?: Record<string, unknown> }>;
  /** `[[plugin.tools.expose]]` entries; each schema is written to `tools/<n>.json`. */
  expose?: Array<{ name: string; schema: Record<string, unknown>; description?: string }>;
}

/** A fresh temp dir removed after the test. */
export function tempDir(t: TestContext, prefix = "nexo-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write a plugin dir whose entrypoint is the fixture script in `mode`, and load its manifest. */
export function fixturePlugin(root: string, options: FixtureOptions): PluginManifest {
  const id = options.id ?? "fx";
  const kind = options.kind ?? id;
  const dir = join(root, `${id}-${options.mode}`);
  const sup = options.supervisor ?? {};
  const env: Record<string, string> = { FIXTURE_KIND: kind, ...(options.env ?? {}) };
  if (options.catalogue) env.FIXTURE_CATALOGUE = JSON.stringify(options.catalogue);
  const expose = (options.expose ?? []).map((e, i) => {
    mkdirSync(join(dir, "tools"), { recursive: true });
    writeFileSync(join(dir, "tools", `${i}.json`), JSON.stringify(e.schema));
    return { name: e.name, schema_path: `./tools/${i}.json`, ...(e.description === undefined ? {} : { description: e.description }) };
  });
  writeFixtureManifest(dir, {
    id,
    version: "0.1.0",
    name: `fixture ${options.mode}`,
    entrypoint: { command: process.execPath, args: [FIXTURE_SCRIPT, options.mode], env },
    channels: { register: [{ kind }] },
    extends: { tools: options.tools ?? [] },
    supervisor: {
      respawn: sup.respawn ?? true,
      max_attempts: sup.max_attempts ?? 3,
      backoff_ms: sup.backoff_ms ?? 50,
      stderr_tail_lines: sup.stderr_tail_lines ?? 32,
    },
    ...(expose.length > 0 ? { tools: { expose } } : {}),
  });
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}
