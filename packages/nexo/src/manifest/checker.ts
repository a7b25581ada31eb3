import type { ManifestViolation } from "./types.js";

export type Obj = Record<string, unknown>;
/** A POSIX-style environment variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
/** The TOML type of a value, as a manifest author would name it (a TOML datetime is "datetime", not a string). */
export const typeName = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : v instanceof Date ? "datetime" : typeof v);

/** Collects violations while walking a manifest. */
export class Checker {
  readonly violations: ManifestViolation[] = [];
  readonly warnings: string[] = [];

  add(field: string, rule: string, message: string): void {
    this.violations.push({ field, rule, message });
  }

  string(obj: Obj, key: string, field: string, required: boolean): string | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.add(field, "required", "is required");
      return undefined;
    }
    if (typeof v !== "string") {
      this.add(field, "type", `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  table(obj: Obj, key: string, field: string): Obj | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) {
      this.add(field, "type", `must be a table, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  stringArray(obj: Obj, key: string, field: string): string[] {
    const v = obj[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.add(field, "type", `must be an array of strings, got ${typeName(v)}`);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== "string") this.add(`${field}[${i}]`, "type", `must be a string, got ${typeName(item)}`);
      else out.push(item);
    });
    return out;
  }

  integer(obj: Obj, key: string, field: string, min: number, max: number, fallback: number): number {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.add(field, "type", `must be an integer, got ${typeName(v)}`);
      return fallback;
    }
    if (v < min || v > max) {
      this.add(field, "range", `must be between ${min} and ${max}, got ${v}`);
      return fallback;
    }
    return v;
  }

  boolean(obj: Obj, key: string, field: string, fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      this.add(field, "type", `must be a boolean, got ${typeName(v)}`);
      return fallback;
    }
    return v;
  }

  /** One of `choices`, or `fallback` when absent. */
  oneOf<T extends string>(obj: Obj, key: string, field: string, choices: readonly T[], fallback: T): T {
    const v = this.string(obj, key, field, false);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) {
      this.add(field, "value", `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  }

  /** The strings of `obj[key]` that are environment variable names; every other entry is a violation. */
  envNames(obj: Obj, key: string, field: string): string[] {
    return this.stringArray(obj, key, field).filter((name, i) => {
      if (ENV_NAME_PATTERN.test(name)) return true;
      this.add(`${field}[${i}]`, "env_name", `${JSON.stringify(name)} is not a valid environment variable name`);
      return false;
    });
  }

  /** A NUL byte cannot reach a command line or an environment; refuse it instead of letting spawn fail later. */
  noNul(value: string, field: string): boolean {
    if (!value.includes("\0")) return true;
    this.add(field, "nul_byte", "must not contain a NUL byte");
    return false;
  }

  /** Unknown keys inside a known section are errors: a typo must not pass silently. */
  onlyKeys(obj: Obj, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(`${field}.${k}`, "unknown_key", `unknown key (expected one of: ${allowed.join(", ")})`);
    }
  }

  /** A section the host does not implement: refused, never silently ignored. */
  unsupported(field: string, what: string): void {
    this.add(field, "unsupported", `${what} is not supported by this host; remove it or run the plugin on a host that implements it`);
  }
}
