import { PLUGIN_ID_PATTERN } from "nexo-plugin-sdk/contract";
import { matchTopic, validatePattern, validateTopic } from "../broker/index.js";
import type { BindingConfig } from "../config/index.js";
import { ErrorCodes, NexoError, violationLine, type Violation } from "../errors.js";
import { parseAgent } from "../agents/index.js";
import type { AgentSpec } from "../agents/index.js";
import { INBOUND_PREFIX } from "./topics.js";
import type { BindingOutbound, BindingSpec } from "./types.js";

const DEFAULT_CONCURRENCY = 1;
const DEFAULT_QUEUE_SIZE = 256;
const KIND = PLUGIN_ID_PATTERN;
const INSTANCE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * Check `bindings:` entries and apply defaults. Every problem is reported at
 * once in NEXO_ERR_BINDING_INVALID (`details.data.violations`, each with the
 * path `/bindings/<i>/<field>`). Whether each workflow exists is checked at start
 * (`BindingsService.checkWorkflows`), once every module and plugin registered theirs.
 */
export function parseBindings(entries: readonly BindingConfig[]): BindingSpec[] {
  const violations: Violation[] = [];
  const specs: BindingSpec[] = [];
  const names = new Set<string>();
  entries.forEach((b, i) => {
    // A dotted field (`agent.tools`) is a deeper key of the entry.
    const bad = (field: string, message: string): void => void violations.push({ path: `/bindings/${i}/${field.replaceAll(".", "/")}`, message });
    const before = violations.length;
    if (b.agent !== undefined && b.workflow !== undefined) bad("workflow", "give either workflow or agent, not both");
    else if (b.agent === undefined && (typeof b.workflow !== "string" || b.workflow.length === 0))
      bad("workflow", "is required: the name of the workflow to run (or give agent: to run an LLM agent)");
    const name = b.name ?? (b.agent !== undefined ? `agent-${i}` : `${b.workflow}-${i}`);
    if (!NAME.test(name)) bad("name", `${JSON.stringify(name)} must be 1-64 of a-z 0-9 _ . - (set name:)`);
    else if (names.has(name)) bad("name", `"${name}" is used by another binding`);
    names.add(name);

    let patterns: string[] = [];
    if (b.inbound !== undefined && b.channel !== undefined) bad("inbound", "give either inbound (a topic pattern) or channel (+ instance), not both");
    else if (b.inbound !== undefined) {
      if (b.instance !== undefined) bad("instance", "only goes with channel:; put the instance in the inbound pattern instead");
      try {
        validatePattern(b.inbound);
        if (!b.inbound.startsWith(INBOUND_PREFIX))
          bad("inbound", `${JSON.stringify(b.inbound)} must be under ${INBOUND_PREFIX} (bindings answer channels; other topics could feed a binding its own workflow events)`);
        else patterns = [b.inbound];
      } catch (err) {
        bad("inbound", (err as Error).message);
      }
    } else if (b.channel !== undefined) {
      if (!KIND.test(b.channel)) bad("channel", `${JSON.stringify(b.channel)} must be a channel kind (${KIND.source})`);
      else if (b.instance !== undefined && !INSTANCE.test(b.instance)) bad("instance", `${JSON.stringify(b.instance)} must be an instance label (${INSTANCE.source})`);
      else {
        const base = `${INBOUND_PREFIX}${b.channel}${b.instance ? `.${b.instance}` : ""}`;
        patterns = [base, `${base}.>`];
      }
    } else bad("inbound", "give inbound (a topic pattern under plugin.inbound.) or channel (a channel kind, optionally with instance)");

    let outbound: BindingOutbound = { mode: "auto" };
    const out = b.outbound ?? "auto";
    if (out === "none") outbound = { mode: "none" };
    else if (out !== "auto") {
      try {
        validateTopic(out);
        const own = patterns.find((p) => matchTopic(p, out));
        if (own) bad("outbound", `${out} matches this binding's own inbound pattern ${own}: its replies would trigger it again`);
        else outbound = { mode: "topic", topic: out };
      } catch (err) {
        bad("outbound", `must be auto, none or a topic without wildcards: ${(err as Error).message}`);
      }
    }
    const inputs = b.inputs ?? "payload";
    if (inputs !== "payload" && inputs !== "event") bad("inputs", `must be payload or event, got ${JSON.stringify(inputs)}`);
    const concurrency = b.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) bad("concurrency", `must be an integer from 1 to 1024, got ${JSON.stringify(concurrency)}`);
    const queueSize = b.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > 1_048_576) bad("queue_size", `must be an integer from 1 to 1048576, got ${JSON.stringify(queueSize)}`);
    let agent: AgentSpec | undefined;
    if (b.agent !== undefined) agent = parseAgent(b.agent, name, bad);
    if (violations.length === before) specs.push({ name, patterns, ...(agent ? { agent } : { workflow: b.workflow! }), outbound, inputs, concurrency, queueSize });
  });
  if (violations.length > 0) {
    throw new NexoError(ErrorCodes.BINDING_INVALID, `bindings are invalid:\n  ${violations.map(violationLine).join("\n  ")}`, { field: violations[0].path, data: { violations } });
  }
  return specs;
}
