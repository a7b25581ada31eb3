import { createHash } from "node:crypto";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { parseError } from "../poll-error.js";

/** One entry of an RSS or Atom feed, normalized. */
export interface FeedEntry {
  id: string;
  title?: string;
  link?: string;
  summary?: string;
  content?: string;
  published?: string;
  updated?: string;
  author?: string;
  categories?: string[];
}

/** A parsed feed; `entries` in document order (feeds list newest first). */
export interface ParsedFeed {
  format: "rss" | "atom" | "rdf";
  title?: string;
  link?: string;
  entries: FeedEntry[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  textNodeName: "#text",
  // Ids like "0012" must stay strings.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ["item", "entry", "link", "category"].includes(name),
});

/**
 * Parse RSS 2.0 (and 0.9x), RSS 1.0 (RDF) and Atom 1.0. Entry ids come from
 * `guid` / `id` / `rdf:about`, then `link`, then a hash of title and date.
 * Throws a parse PollError when the text is not well-formed XML or not a feed.
 */
export function parseFeed(xml: string): ParsedFeed {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw parseError(`feed is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: Record<string, any>;
  try {
    doc = parser.parse(xml) as Record<string, any>;
  } catch (err) {
    throw parseError(`feed could not be parsed: ${(err as Error).message}`, err);
  }
  if (doc.rss) {
    const ch = doc.rss.channel ?? {};
    return { format: "rss", ...meta(text(ch.title), rssLink(ch.link)), entries: list(ch.item).map(rssEntry) };
  }
  if (doc.feed) {
    const f = doc.feed;
    return { format: "atom", ...meta(text(f.title), atomLink(f.link)), entries: list(f.entry).map(atomEntry) };
  }
  if (doc["rdf:RDF"]) {
    const r = doc["rdf:RDF"];
    const ch = r.channel ?? {};
    return { format: "rdf", ...meta(text(ch.title), rssLink(ch.link)), entries: list(r.item).map(rdfEntry) };
  }
  const root = Object.keys(doc).find((k) => !k.startsWith("?")) ?? "(none)";
  throw parseError(`not an RSS or Atom feed (root element <${root}>)`);
}

function rssEntry(i: Record<string, any>): FeedEntry {
  const link = rssLink(i.link);
  const e = compact({
    title: text(i.title),
    link,
    summary: text(i.description),
    content: text(i["content:encoded"]),
    published: text(i.pubDate) ?? text(i["dc:date"]),
    author: text(i.author) ?? text(i["dc:creator"]),
    categories: categories(i.category),
  });
  return { id: text(i.guid) ?? link ?? fallbackId(e), ...e };
}

function atomEntry(i: Record<string, any>): FeedEntry {
  const link = atomLink(i.link);
  const author = i.author ? (text(i.author.name) ?? text(i.author)) : undefined;
  const e = compact({
    title: text(i.title),
    link,
    summary: text(i.summary),
    content: text(i.content),
    published: text(i.published),
    updated: text(i.updated),
    author,
    categories: categories(i.category),
  });
  return { id: text(i.id) ?? link ?? fallbackId(e), ...e };
}

function rdfEntry(i: Record<string, any>): FeedEntry {
  const link = rssLink(i.link);
  const e = compact({ title: text(i.title), link, summary: text(i.description), published: text(i["dc:date"]), author: text(i["dc:creator"]) });
  return { id: text(i["@_rdf:about"]) ?? link ?? fallbackId(e), ...e };
}

/** Text of an element: a string, `#text` of an element with attributes, or undefined. Empty strings count as absent. */
function text(v: unknown): string | undefined {
  if (Array.isArray(v)) return text(v[0]);
  if (typeof v === "string") return v.length ? v : undefined;
  if (typeof v === "number") return String(v);
  if (v && typeof v === "object" && "#text" in v) return text((v as Record<string, unknown>)["#text"]);
  return undefined;
}

function rssLink(v: unknown): string | undefined {
  // RSS links are text; an atom:link inside an RSS channel has only attributes and is skipped.
  for (const l of list(v)) {
    const t = text(l);
    if (t) return t;
  }
  return undefined;
}

function atomLink(v: unknown): string | undefined {
  const links = list(v).filter((l): l is Record<string, string> => !!l && typeof l === "object");
  const alt = links.find((l) => !l["@_rel"] || l["@_rel"] === "alternate") ?? links[0];
  return alt?.["@_href"] || undefined;
}

function categories(v: unknown): string[] | undefined {
  const out = list(v)
    .map((c) => (c && typeof c === "object" && "@_term" in c ? String((c as Record<string, unknown>)["@_term"]) : text(c)))
    .filter((c): c is string => !!c);
  return out.length ? out : undefined;
}

function list(v: unknown): any[] {
  if (v === undefined || v === null || v === "") return [];
  return Array.isArray(v) ? v : [v];
}

function meta(title: string | undefined, link: string | undefined): { title?: string; link?: string } {
  return { ...(title !== undefined ? { title } : {}), ...(link !== undefined ? { link } : {}) };
}

function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

function fallbackId(e: Partial<FeedEntry>): string {
  return `sha256:${createHash("sha256")
    .update(JSON.stringify([e.title ?? "", e.published ?? e.updated ?? "", e.summary ?? ""]))
    .digest("hex")
    .slice(0, 32)}`;
}
