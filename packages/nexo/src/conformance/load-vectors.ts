import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Ajv } from "ajv";
import { ErrorCodes, NexoError } from "../errors.js";
import { vectorsDir } from "../util/index.js";
import { checkMatcher, checkTemplate } from "./matcher.js";
import { vectorSchema, type Vector, type VectorStep } from "./vector.js";

const ajv = new Ajv({ allErrors: true, strict: false });
const validateShape = ajv.compile(vectorSchema);

/** The vectors shipped with nexo: the installed package's assets, else the checkout's `conformance/vectors/`. */
export function defaultVectorsDir(): string {
  return `${vectorsDir()}/`;
}

function invalid(file: string, problems: string[]): NexoError {
  return new NexoError(ErrorCodes.CONFORMANCE_INVALID_VECTOR, `${file}: invalid conformance vector\n${problems.map((p) => `  ${p}`).join("\n")}`, {
    file,
    field: problems[0]?.split(":")[0],
  });
}

/** Parse and check one vector file; throws NEXO_ERR_CONFORMANCE_INVALID_VECTOR listing every problem. */
export function loadVector(file: string): Vector {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw invalid(path, [`json: ${(err as Error).message}`]);
  }
  if (!validateShape(raw)) {
    throw invalid(
      path,
      (validateShape.errors ?? []).map(
        (e) => `${e.instancePath || "/"}: ${e.message}${e.params && "allowedValues" in e.params ? ` (${(e.params.allowedValues as unknown[]).join(", ")})` : ""}`,
      ),
    );
  }
  const v = raw as Record<string, any>;
  const problems: string[] = [];
  const expectedId = basename(path, ".json");
  if (v.id !== expectedId) problems.push(`id: must equal the file name "${expectedId}", got "${v.id}"`);
  const requires: string[] = v.requires ?? [];
  if (v.probe === true && !requires.includes("probe")) problems.push('requires: a vector with "probe": true must require the "probe" tag');
  for (const [i, m] of (v.forbid ?? []).entries()) problems.push(...checkMatcher(m, `forbid[${i}]`));
  const steps = v.steps as VectorStep[];
  steps.forEach((s, i) => {
    const at = `steps[${i}]`;
    if ("send" in s) problems.push(...checkTemplate(s.send, `${at}.send`));
    if ("send_raw" in s) problems.push(...checkTemplate(s.send_raw, `${at}.send_raw`));
    if ("expect" in s) problems.push(...checkMatcher(s.expect, `${at}.expect`));
    if ("expect_none" in s) problems.push(...checkMatcher(s.expect_none, `${at}.expect_none`));
    if ("expect_stderr" in s) problems.push(...checkMatcher(s.expect_stderr, `${at}.expect_stderr`));
    if ("expect_exit" in s) problems.push(...checkMatcher(s.expect_exit, `${at}.expect_exit`));
  });
  if (problems.length) throw invalid(path, problems);
  return {
    id: v.id,
    title: v.title,
    contract: v.contract,
    ...(v.description ? { description: v.description } : {}),
    requires,
    when: v.when ?? {},
    probe: v.probe === true,
    initialize: v.initialize !== false,
    allow: v.allow ?? {},
    forbid: v.forbid ?? [],
    steps,
    file: path,
  };
}

/** Every `*.json` vector of a directory, sorted by id. Throws on the first invalid one or a missing directory. */
export function loadVectors(dir: string = defaultVectorsDir()): Vector[] {
  const root = resolve(dir);
  if (!existsSync(root)) {
    throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_VECTOR, `no conformance vectors at ${root} (pass --vectors <dir>)`, { file: root });
  }
  return readdirSync(root)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => loadVector(join(root, f)));
}
