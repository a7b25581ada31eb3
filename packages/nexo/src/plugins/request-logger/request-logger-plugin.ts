import type { Nexo } from "../../app/index.js";
import type { Logger } from "../../log/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check } from "../option-checks.js";
import { DEFAULT_REDACT_KEYS, normalizeKey, redact } from "./redact.js";

/** Options of RequestLoggerPlugin (nexo.yaml: `in_process_plugins.request_logger`). */
export interface RequestLoggerOptions {
  /** Log each execution's inputs (after redaction). Default true, as in the reference plugin API. */
  includeInputs: boolean;
  /** Input keys whose values are replaced by "[redacted]" at any depth. Default: password, token, secret, apiKey, authorization, ... */
  redactKeys: string[];
  /** Log level of the request/response lines. Default "info". */
  level: "info" | "debug";
}

const SPECS: OptionSpecs<RequestLoggerOptions> = {
  includeInputs: check.bool(),
  redactKeys: check.array(check.string(1), 1000),
  level: check.oneOf(["info", "debug"] as const),
};

/**
 * The reference plugin API's request logger: one `[REQUEST] <workflow> - <channel>` line when
 * a workflow starts (with its inputs, secrets redacted) and one
 * `[RESPONSE] <workflow>` line with its duration when it ends, through the
 * app's logger. A completed execution logs `success: true` and `hasResult`
 * (the reference plugin API's `result is not None`); a failed one `success: false` and its error code.
 * @example
 * app.addPlugin(new RequestLoggerPlugin({ redactKeys: ["password", "ssn"] }));
 */
export class RequestLoggerPlugin extends BuiltinPlugin<RequestLoggerOptions> {
  private redactSet: ReadonlySet<string> = new Set();

  constructor(options?: Partial<RequestLoggerOptions>) {
    super("request_logger", SPECS, { includeInputs: true, redactKeys: [...DEFAULT_REDACT_KEYS], level: "info" }, options);
  }

  override get description(): string {
    return "Logs each workflow request and response";
  }

  get includeInputs(): boolean {
    return this.options.includeInputs;
  }
  set includeInputs(v: boolean) {
    this.setOption("includeInputs", v);
  }
  get redactKeys(): string[] {
    return [...this.options.redactKeys];
  }
  set redactKeys(v: string[]) {
    this.setOption("redactKeys", v);
  }
  get level(): "info" | "debug" {
    return this.options.level;
  }
  set level(v: "info" | "debug") {
    this.setOption("level", v);
  }

  override setup(app: Nexo): void {
    super.setup(app);
    const log: Logger = app.logger.child({ plugin: this.name });
    this.redactSet = new Set(this.options.redactKeys.map(normalizeKey));
    const level = this.options.level;
    app.onWorkflowStarted((e) => {
      if (!log.isLevelEnabled(level)) return;
      const fields: Record<string, unknown> = { workflow: e.workflowName, workflowId: e.workflowId, channel: e.channel, sessionId: e.sessionId };
      if (this.options.includeInputs) fields.inputs = redact(e.inputs, this.redactSet);
      log[level](fields, `[REQUEST] ${e.workflowName} - ${e.channel}`);
    });
    app.onWorkflowCompleted((e) => {
      if (!log.isLevelEnabled(level)) return;
      log[level](
        { workflow: e.workflowName, workflowId: e.workflowId, duration: e.duration, success: true, hasResult: e.result !== undefined && e.result !== null },
        `[RESPONSE] ${e.workflowName}`,
      );
    });
    app.onWorkflowFailed((e) => {
      if (!log.isLevelEnabled(level)) return;
      log[level]({ workflow: e.workflowName, workflowId: e.workflowId, duration: e.duration, success: false, error: e.error.code }, `[RESPONSE] ${e.workflowName}`);
    });
  }
}
