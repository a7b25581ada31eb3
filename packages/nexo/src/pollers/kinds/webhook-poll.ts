import { createHash } from "node:crypto";
import { checkStatus } from "../http-fetch.js";
import { configError, parseError } from "../poll-error.js";
import { checkKindConfig, expandEnv, expandHeaders, feedOptionProperties, parseFeedOptions } from "./feed-options.js";
import type { FeedJobOptions, PolledItem, PollerKind } from "./types.js";

/** A `webhook_poll` job's config, parsed. */
export interface WebhookPollConfig extends FeedJobOptions {
  url: string;
  method: "GET" | "POST";
  body?: unknown;
  headers: Record<string, string>;
  /** Dotted path to the array of items (`""` = the body itself). */
  itemsPath: string[];
  /** Dotted path, inside an item, to its id. */
  idField: string[];
}

const schema = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", minLength: 1 },
    method: { enum: ["GET", "POST"] },
    body: {},
    items_path: { type: "string" },
    id_field: { type: "string", minLength: 1 },
    ...feedOptionProperties,
  },
};

/** Split a dotted path; `""` is the root. Segments that are integers also index arrays. */
export function splitPath(path: string): string[] {
  return path === "" ? [] : path.split(".");
}

/** The value at `path` inside `value`, or undefined. */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/**
 * `kind: webhook_poll`: GET (or POST) a JSON document, take the array at
 * `items_path`, and identify each item by `id_field` (an item without one is
 * identified by a hash of its JSON). Items are delivered in array order.
 * ETag / Last-Modified are sent back as If-None-Match / If-Modified-Since.
 */
export const webhookPollKind: PollerKind<WebhookPollConfig> = {
  name: "webhook_poll",
  parse(config, env) {
    checkKindConfig("webhook_poll", schema, config);
    if (config.body !== undefined && config.method !== "POST") throw configError("invalid webhook_poll config: body is only sent with method: POST");
    return {
      ...parseFeedOptions(config, { maxPerTick: 100 }),
      url: expandEnv(config.url as string, env, "url"),
      method: (config.method as "GET" | "POST" | undefined) ?? "GET",
      ...(config.body !== undefined ? { body: config.body } : {}),
      headers: { accept: "application/json", ...expandHeaders(config.headers as Record<string, string> | undefined, env) },
      itemsPath: splitPath((config.items_path as string | undefined) ?? ""),
      idField: splitPath((config.id_field as string | undefined) ?? "id"),
    };
  },
  async poll(config, ctx) {
    const res = await ctx.fetch({
      url: config.url,
      method: config.method,
      headers: config.headers,
      ...(config.body !== undefined ? { body: config.body } : {}),
      etag: ctx.cursor.etag,
      lastModified: ctx.cursor.lastModified,
    });
    checkStatus(res, ctx.now());
    const validators = { etag: header(res.headers.etag), lastModified: header(res.headers["last-modified"]) };
    if (res.status === 304) return { notModified: true, items: [], etag: ctx.cursor.etag, lastModified: ctx.cursor.lastModified };
    if (res.status === 204 || res.body.length === 0) return { notModified: false, items: [], ...validators };
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString("utf8"));
    } catch (err) {
      throw parseError(`response of ${new URL(res.url).host} is not JSON: ${(err as Error).message}`, err);
    }
    const list = getPath(doc, config.itemsPath);
    if (!Array.isArray(list)) {
      const at = config.itemsPath.length ? `items_path "${config.itemsPath.join(".")}"` : "the top level (set items_path)";
      throw parseError(`expected an array at ${at}, found ${list === null ? "null" : typeof list}`);
    }
    const items: PolledItem[] = list.map((data) => ({ id: itemId(data, config.idField), data }));
    return { notModified: false, items, ...validators };
  },
};

function itemId(item: unknown, field: readonly string[]): string {
  const v = getPath(item, field);
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  // No usable id: the item's content is its identity (an edited item counts as new).
  return `sha256:${createHash("sha256")
    .update(JSON.stringify(item) ?? "null")
    .digest("hex")
    .slice(0, 32)}`;
}

function header(v: string | string[] | undefined): string | null {
  return (Array.isArray(v) ? v[0] : v) ?? null;
}
