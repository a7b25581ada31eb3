import { ErrorCodes, NexoError, type ErrorCode } from "../errors.js";
import type { ManifestViolation } from "./types.js";

/** A manifest that failed to load; lists every violation with file, field and rule. */
export class ManifestError extends NexoError {
  readonly file: string;
  readonly violations: ManifestViolation[];

  constructor(file: string, violations: ManifestViolation[], code: ErrorCode = ErrorCodes.MANIFEST_INVALID) {
    const lines = violations.map((v) => `  ${v.field}: ${v.message} [${v.rule}]`);
    super(code, `${file}: invalid plugin manifest (${violations.length} problem${violations.length === 1 ? "" : "s"})\n${lines.join("\n")}`, {
      file,
      field: violations[0]?.field,
      rule: violations[0]?.rule,
    });
    this.name = "ManifestError";
    this.file = file;
    this.violations = violations;
  }
}
