/** Behaviours a plugin can declare (`tags` in its `nexo-conformance.toml`) so the vectors that need them apply. */
export const CONFORMANCE_TAGS = {
  /** Pattern 1: every `broker.event` on `plugin.outbound.<kind>[.x]` comes back as `broker.publish` on `plugin.inbound.<kind>[.x]` with the same payload. */
  echo: "echo",
  /** The plugin serves the conformance probe tool when `NEXO_CONFORMANCE_PROBE=1` (conformance/README.md, "The probe"). */
  probe: "probe",
} as const;

/** Name of the probe tool; exempt from `[plugin.extends].tools` because only the runner ever sees it. */
export const PROBE_TOOL = "conformance_probe";
/** Environment variable the runner sets (to `1`) for vectors that use the probe; the daemon never sets it. */
export const PROBE_ENV = "NEXO_CONFORMANCE_PROBE";

/** One step of a vector's script (conformance/README.md, "Steps"). */
export type VectorStep =
  | { send: unknown; repeat?: number; note?: string }
  | { send_raw: unknown; repeat?: number; note?: string }
  | { expect: unknown; within_ms?: number; as?: string; ordered?: boolean; repeat?: number; note?: string }
  | { expect_none: unknown; for_ms: number; note?: string }
  | { expect_stderr: unknown; within_ms?: number; note?: string }
  | { expect_exit: unknown; within_ms?: number; note?: string }
  | { signal: "SIGTERM" | "SIGINT"; note?: string }
  | { close_stdin: true; note?: string }
  | { sleep_ms: number; note?: string };

/** A scripted exchange between the runner (playing the host) and a plugin. */
export interface Vector {
  /** The file name without `.json`; also the name of its broken plugin in `conformance/bad/`. */
  id: string;
  title: string;
  /** The docs/contract.md section it checks. */
  contract: string;
  description?: string;
  /** Tags the plugin must declare for the vector to apply. */
  requires: string[];
  /** Conditions on the manifest for the vector to apply. */
  when: { declares_tools?: boolean };
  /** Start the plugin with `NEXO_CONFORMANCE_PROBE=1`. */
  probe: boolean;
  /** Send `initialize` (id 1) and check its reply before the steps. Default true. */
  initialize: boolean;
  /** Relaxed invariants. */
  allow: { null_id_errors?: boolean };
  /** Frames that must never arrive during the vector. */
  forbid: unknown[];
  steps: VectorStep[];
  /** Absolute path of the vector file. */
  file: string;
}

const matcher = {};
const note = { type: "string" };
const positive = { type: "integer", minimum: 1 };

/** JSON Schema of a vector file; `load-vectors.ts` also checks each matcher and template. */
export const vectorSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "title", "contract", "steps"],
  properties: {
    $comment: { type: "string" },
    id: { type: "string", pattern: "^[a-z0-9]+(-[a-z0-9]+)*$" },
    title: { type: "string", minLength: 1 },
    contract: { type: "string", minLength: 1 },
    description: { type: "string" },
    requires: { type: "array", uniqueItems: true, items: { enum: Object.values(CONFORMANCE_TAGS) } },
    when: { type: "object", additionalProperties: false, properties: { declares_tools: { type: "boolean" } } },
    probe: { type: "boolean" },
    initialize: { type: "boolean" },
    allow: { type: "object", additionalProperties: false, properties: { null_id_errors: { type: "boolean" } } },
    forbid: { type: "array", items: matcher },
    steps: {
      type: "array",
      minItems: 1,
      items: {
        oneOf: [
          { type: "object", additionalProperties: false, required: ["send"], properties: { send: { type: "object" }, repeat: positive, note } },
          { type: "object", additionalProperties: false, required: ["send_raw"], properties: { send_raw: { type: ["string", "object"] }, repeat: positive, note } },
          {
            type: "object",
            additionalProperties: false,
            required: ["expect"],
            properties: { expect: matcher, within_ms: positive, as: { type: "string", pattern: "^[A-Za-z_]\\w*$" }, ordered: { type: "boolean" }, repeat: positive, note },
          },
          { type: "object", additionalProperties: false, required: ["expect_none", "for_ms"], properties: { expect_none: matcher, for_ms: positive, note } },
          { type: "object", additionalProperties: false, required: ["expect_stderr"], properties: { expect_stderr: matcher, within_ms: positive, note } },
          { type: "object", additionalProperties: false, required: ["expect_exit"], properties: { expect_exit: { type: "object" }, within_ms: positive, note } },
          { type: "object", additionalProperties: false, required: ["signal"], properties: { signal: { enum: ["SIGTERM", "SIGINT"] }, note } },
          { type: "object", additionalProperties: false, required: ["close_stdin"], properties: { close_stdin: { const: true }, note } },
          { type: "object", additionalProperties: false, required: ["sleep_ms"], properties: { sleep_ms: positive, note } },
        ],
      },
    },
  },
} as const;
