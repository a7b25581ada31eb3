import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";
import { loadPluginManifest, type PluginManifest } from "../manifest/index.js";
import { findFreePort, HTTP_HOST_ENV, HTTP_PORT_ENV } from "../proxy/index.js";
import { NEXO_VERSION } from "../version.js";
import { loadVectors } from "./load-vectors.js";
import { runVector, type VectorOutcome } from "./run-vector.js";
import { readConformanceSettings } from "./settings.js";
import { CONFORMANCE_TAGS, PROBE_TOOL, type Vector } from "./vector.js";

export interface ConformanceOptions {
  /** The plugin's directory (or its manifest file). */
  pluginDir: string;
  /** Vector directory. Default: the vectors shipped with nexo. */
  vectorsDir?: string;
  /** Tags the plugin declares; default `tags` of its `nexo-conformance.toml`. */
  tags?: string[];
  /** Run only these vector ids. Default all. */
  only?: string[];
  /** Vectors run at once, each against its own plugin process. Default min(4, cores). */
  jobs?: number;
  /** Multiplies every deadline and window, for slow machines. Default 1. */
  timeScale?: number;
  /** Called with each notice about the plugin's settings (a deprecated `[plugin.conformance]`, manifest warnings). */
  onWarning?: (message: string) => void;
  /** Called once the manifest and vectors are loaded, before the first vector runs. */
  onStart?: (plugin: ConformanceReport["plugin"], vectorCount: number) => void;
  /** Called as each vector finishes, in vector order. */
  onResult?: (result: VectorResult) => void;
}

/** One line of the report. */
export type VectorResult = VectorOutcome | { id: string; title: string; status: "skip"; reason: string; ms: 0 };

/** The whole run. */
export interface ConformanceReport {
  plugin: { id: string; version: string; dir: string; tags: string[] };
  results: VectorResult[];
  passed: number;
  failed: number;
  skipped: number;
}

const KNOWN_TAGS = new Set<string>(Object.values(CONFORMANCE_TAGS));

/**
 * The plugin's declared tags and server_version (`nexo-conformance.toml`, or the
 * deprecated `[plugin.conformance]` section).
 * @deprecated use `readConformanceSettings`, which also returns the sample config and warnings.
 */
export function readConformanceSection(manifest: PluginManifest): { tags: string[]; serverVersion?: string } {
  const s = readConformanceSettings(manifest);
  return { tags: s.tags, ...(s.serverVersion !== undefined ? { serverVersion: s.serverVersion } : {}) };
}

/** The config the `configure` vector sends when the plugin declares none of its own. */
const GENERIC_CONFIG = { greeting: "hello", limits: { n: 3 }, list: [1, "two"] };

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Why a vector does not apply to this plugin, or null when it does. */
export function whyNotApplicable(vector: Vector, tags: readonly string[], manifest: PluginManifest): string | null {
  const missing = vector.requires.filter((t) => !tags.includes(t));
  if (missing.length) return `needs tag${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`;
  const declaresTools = manifest.extends.tools.length > 0 || manifest.toolsExpose.length > 0 || manifest.toolsExposeNames.length > 0 || manifest.toolsOutbound.length > 0;
  if (vector.when.declares_tools !== undefined && vector.when.declares_tools !== declaresTools) {
    return vector.when.declares_tools ? "only for plugins that declare tools" : "only for plugins that declare no tools of their own";
  }
  return null;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, onDone: (r: R, index: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  const finished = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let reported = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
      finished[i] = true;
      // Report in vector order, however the jobs interleave.
      while (reported < items.length && finished[reported]) onDone(out[reported], reported++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Run a plugin through every conformance vector that applies to it, each
 * against a fresh process started from its manifest the way the daemon does.
 * Vectors needing a tag the plugin does not declare are skipped (and reported).
 * Throws only for unusable input (manifest, vectors, options): a misbehaving
 * plugin is a failed vector, never an exception.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  // As discovery loads it: a manifest file, or what bin/<id> --print-manifest prints.
  const manifest = await loadPluginManifest(options.pluginDir);
  const section = readConformanceSettings(manifest);
  for (const w of [...section.warnings, ...manifest.warnings]) options.onWarning?.(w);
  const tags = options.tags ?? section.tags;
  const unknown = tags.filter((t) => !KNOWN_TAGS.has(t));
  if (unknown.length) {
    throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `unknown conformance tag(s) ${unknown.join(", ")} (known: ${[...KNOWN_TAGS].join(", ")})`, { field: "tags" });
  }
  const kind = manifest.channels[0]?.kind ?? null;
  if (tags.includes(CONFORMANCE_TAGS.echo) && kind === null) {
    throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `${manifest.file}: the echo tag needs a [[plugin.channels.register]] kind to echo on`, {
      file: manifest.file,
      field: "plugin.channels",
    });
  }
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `timeScale must be a positive number, got ${String(timeScale)}`, { field: "timeScale" });
  // A plugin that binds a fixed port can only run one vector at a time.
  const fixedPort = (manifest.httpServer?.port ?? 0) !== 0;
  const jobs = fixedPort ? 1 : (options.jobs ?? Math.min(4, availableParallelism()));
  if (!Number.isInteger(jobs) || jobs < 1) throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `jobs must be a positive integer, got ${String(jobs)}`, { field: "jobs" });

  let vectors = loadVectors(options.vectorsDir);
  if (options.only?.length) {
    const known = new Set(vectors.map((v) => v.id));
    const missing = options.only.filter((id) => !known.has(id));
    if (missing.length) throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `no vector named ${missing.join(", ")}`, { field: "only" });
    vectors = vectors.filter((v) => options.only!.includes(v.id));
  }

  // Probe vectors: the probe tool is advertised without a [plugin.extends] declaration (only the runner ever sees it).
  const probeManifest: PluginManifest = { ...manifest, extends: { ...manifest.extends, tools: [...manifest.extends.tools, PROBE_TOOL] } };
  const scope = {
    plugin_id: manifest.id,
    version: manifest.version,
    kind,
    server_version: section.serverVersion ?? `${manifest.id}-${manifest.version}`,
    // Any non-empty server_version is the plugin's own business unless it declares one.
    server_version_pattern: section.serverVersion !== undefined ? `^${escapeRegex(section.serverVersion)}$` : "^.+$",
    // What a host checks advertised tools against (the probe tool is the runner's own).
    declared_tools: [...new Set([...manifest.extends.tools, ...manifest.toolsExposeNames, PROBE_TOOL])],
    configure_value: section.config ?? GENERIC_CONFIG,
    nexo_version: NEXO_VERSION,
    manifest: manifest.raw,
  };
  const plugin = { id: manifest.id, version: manifest.version, dir: manifest.dir, tags };
  options.onStart?.(plugin, vectors.length);
  const stateRoot = mkdtempSync(join(tmpdir(), "nexo-conformance-"));
  // As the daemon does: an http_server plugin is given its port (a free loopback one for port = 0) and bind address.
  const hs = manifest.httpServer;
  const hostEnv = async (): Promise<Record<string, string>> => (hs ? { [HTTP_PORT_ENV]: String(hs.port || (await findFreePort(hs.bind))), [HTTP_HOST_ENV]: hs.bind } : {});
  try {
    const results = await mapLimit(
      vectors,
      jobs,
      async (vector): Promise<VectorResult> => {
        const why = whyNotApplicable(vector, tags, manifest);
        if (why) return { id: vector.id, title: vector.title, status: "skip", reason: why, ms: 0 };
        return runVector(vector, {
          spec: { manifest, ...(section.config !== undefined ? { config: section.config } : {}), ...(section.env ? { env: section.env } : {}) },
          probeManifest,
          scope,
          stateRoot,
          nexoVersion: NEXO_VERSION,
          timeScale,
          hostEnv,
        });
      },
      (r) => options.onResult?.(r),
    );
    return {
      plugin,
      results,
      passed: results.filter((r) => r.status === "pass").length,
      failed: results.filter((r) => r.status === "fail").length,
      skipped: results.filter((r) => r.status === "skip").length,
    };
  } finally {
    rmSync(stateRoot, { recursive: true, force: true });
  }
}
