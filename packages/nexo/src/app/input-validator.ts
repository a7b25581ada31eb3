import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import formatsModule from "ajv-formats";
import { ErrorCodes, NexoError, type Violation } from "../errors.js";
import { ajvViolation } from "../util/index.js";
import { errorMessage } from "./deadline.js";
import type { WorkflowInputs } from "./types.js";

/** One failed rule in a workflow's inputs or a tool's arguments (the catalogue's Violation). */
export type InputViolation = Violation;

/** Checks inputs; throws NEXO_ERR_WORKFLOW_INVALID_INPUT listing every violation. */
export type InputCheck = (inputs: WorkflowInputs) => void;

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv) => Ajv;

/** A new ajv as every input check uses it: all errors reported, formats on, unknown keywords tolerated. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

/** Compiles workflow input schemas once (allErrors, formats) and reports every violation. */
export class InputValidator {
  private readonly ajv: Ajv;

  constructor() {
    this.ajv = createAjv();
  }

  /** Compile `schema` for workflow `name`. Throws NEXO_ERR_WORKFLOW_INVALID_DEFINITION if the schema is not valid. */
  compile(name: string, schema: Record<string, unknown>): InputCheck {
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(schema);
    } catch (err) {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `workflow "${name}": inputSchema is not a valid JSON Schema: ${errorMessage(err)}`, {
        field: "inputSchema",
        cause: err,
      });
    }
    return (inputs) => {
      if (validate(inputs)) return;
      throw invalidInput(name, (validate.errors ?? []).map(toViolation));
    };
  }
}

/** The error for bad inputs: the message lists each violation, `details.data.violations` carries them. */
export function invalidInput(name: string, violations: InputViolation[]): NexoError {
  const list = violations.map((v) => `${v.path || "/"} ${v.message}`).join("; ");
  return new NexoError(ErrorCodes.WORKFLOW_INVALID_INPUT, `invalid inputs for workflow "${name}": ${list}`, { data: { workflow: name, violations } });
}

/** One ajv error as a violation pointing at the offending property (shared with the tool registry). */
export function toViolation(e: ErrorObject): InputViolation {
  return ajvViolation(e);
}
