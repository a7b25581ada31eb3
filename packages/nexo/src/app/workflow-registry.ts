import { ErrorCodes, NexoError } from "../errors.js";
import { InputValidator, invalidInput, type InputCheck } from "./input-validator.js";
import type { RegisterWorkflowOptions, WorkflowHandler, WorkflowInfo, WorkflowInputs } from "./types.js";

/**
 * Workflow names: a letter, then up to 63 letters, digits, `_` or `-`. No dots:
 * the name is one segment of `workflow.<name>.started`, so `workflow.*.started` matches every workflow.
 */
export const WORKFLOW_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

/** A workflow ready to run. */
export interface WorkflowEntry extends WorkflowInfo {
  readonly handler: WorkflowHandler<any, unknown>;
  /** Throws NEXO_ERR_WORKFLOW_INVALID_INPUT listing every violation. */
  readonly check: InputCheck;
  /** Its lifecycle topics, built once: `workflow.<name>.started|completed|failed`. */
  readonly topics: { readonly started: string; readonly completed: string; readonly failed: string };
}

/** The app's workflows by name; schemas are compiled once, at registration. */
export class WorkflowRegistry {
  private readonly entries = new Map<string, WorkflowEntry>();
  private readonly validator = new InputValidator();

  /** Add a workflow. Throws NEXO_ERR_WORKFLOW_INVALID_DEFINITION or NEXO_ERR_WORKFLOW_DUPLICATE. */
  add(name: string, handler: WorkflowHandler<any, unknown>, options: RegisterWorkflowOptions, owner: string | null): WorkflowEntry {
    if (typeof name !== "string" || !WORKFLOW_NAME_PATTERN.test(name)) {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `invalid workflow name ${JSON.stringify(name)} (${typeof name}): must match ${WORKFLOW_NAME_PATTERN}`, {
        field: "name",
        rule: String(WORKFLOW_NAME_PATTERN),
      });
    }
    if (typeof handler !== "function") {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `workflow "${name}": handler must be a function, got ${typeof handler}`, { field: "handler" });
    }
    if (this.entries.has(name)) {
      throw new NexoError(ErrorCodes.WORKFLOW_DUPLICATE, `workflow "${name}" is already registered`, { field: "name" });
    }
    const schema = options.inputSchema;
    if (schema !== undefined && (schema === null || typeof schema !== "object" || Array.isArray(schema))) {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `workflow "${name}": inputSchema must be an object, got ${Array.isArray(schema) ? "array" : typeof schema}`, {
        field: "inputSchema",
      });
    }
    const description = options.description ?? "";
    if (typeof description !== "string") {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `workflow "${name}": description must be a string, got ${typeof description}`, { field: "description" });
    }
    const check = schema === undefined ? noCheck : this.validator.compile(name, schema);
    const topics = { started: `workflow.${name}.started`, completed: `workflow.${name}.completed`, failed: `workflow.${name}.failed` };
    const entry: WorkflowEntry = { name, description, inputSchema: schema ?? null, owner, handler, check, topics };
    this.entries.set(name, entry);
    return entry;
  }

  get(name: string): WorkflowEntry | undefined {
    return this.entries.get(name);
  }

  /** Remove one workflow; false when it was not registered. */
  remove(name: string): boolean {
    return this.entries.delete(name);
  }

  /** Remove every workflow `owner` registered. */
  removeOwner(owner: string): void {
    for (const [name, e] of this.entries) if (e.owner === owner) this.entries.delete(name);
  }

  /** Public descriptions, in registration order. */
  list(): WorkflowInfo[] {
    return [...this.entries.values()].map(({ name, description, inputSchema, owner }) => ({ name, description, inputSchema, owner }));
  }
}

function noCheck(_inputs: WorkflowInputs): void {}

/** Inputs must be a plain JSON object whatever the schema says. */
export function assertInputsObject(name: string, inputs: unknown): asserts inputs is WorkflowInputs {
  if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) {
    throw invalidInput(name, [{ path: "", message: `must be object (got ${inputs === null ? "null" : Array.isArray(inputs) ? "array" : typeof inputs})` }]);
  }
}
