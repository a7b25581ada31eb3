import type { Nexo } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { toRunView, type RunStatus } from "../../runs/index.js";
import type { ControlHandler } from "./control-server.js";
import { ControlMethods } from "./protocol.js";

const STATUSES = new Set(["queued", "running", "completed", "failed", "cancelled", "interrupted"]);

function str(params: unknown, name: string, required: boolean): string | undefined {
  const v = params && typeof params === "object" ? (params as Record<string, unknown>)[name] : undefined;
  if (v === undefined || v === null) {
    if (required) throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `missing parameter "${name}"`, { field: name });
    return undefined;
  }
  if (typeof v !== "string" || v.length === 0) throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `parameter "${name}" must be a non-empty string`, { field: name });
  return v;
}

/**
 * `run.list`, `run.show`, `run.cancel` on the control socket. The socket is
 * the operator's (mode 0600): it sees and cancels every principal's runs.
 */
export function runControlHandlers(app: Nexo): Record<string, ControlHandler> {
  return {
    [ControlMethods.RUN_LIST]: async (params) => {
      const status = str(params, "status", false);
      if (status !== undefined && !STATUSES.has(status))
        throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `status must be one of ${[...STATUSES].join(", ")}`, { field: "status" });
      const workflow = str(params, "workflow", false);
      const limit = params && typeof params === "object" ? (params as Record<string, unknown>).limit : undefined;
      const runs = await app.runs.list("operator", {
        ...(status ? { status: status as RunStatus } : {}),
        ...(workflow ? { workflow } : {}),
        ...(typeof limit === "number" ? { limit } : {}),
      });
      return runs.map((r) => toRunView(r));
    },
    [ControlMethods.RUN_SHOW]: async (params) => {
      const id = str(params, "id", true)!;
      const r = await app.runs.get(id, "operator");
      if (!r) throw new NexoError(ErrorCodes.RUN_NOT_FOUND, `no run ${id}`, { data: { run: id } });
      return toRunView(r);
    },
    [ControlMethods.RUN_CANCEL]: async (params) => {
      const { record, pending } = await app.runs.cancel(str(params, "id", true)!, "operator");
      return { ...toRunView(record), ...(pending ? { cancelRequested: true } : {}) };
    },
  };
}
