import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { parseFeed } from "../../src/pollers/index.js";

test("pollers - rss: RSS 2.0 items with guid (attributes, CDATA, entities, numeric-looking ids kept as text)", () => {
  const feed = parseFeed(`<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Blog &amp; news</title><link>https://blog.test/</link><atom:link href="https://blog.test/feed" rel="self"/>
<item><title>Second</title><link>https://blog.test/2</link><guid isPermaLink="false">0002</guid><pubDate>Tue, 02 Jan 2026 10:00:00 GMT</pubDate>
  <description><![CDATA[<b>two</b>]]></description><content:encoded><![CDATA[<p>full</p>]]></content:encoded><dc:creator>Ana</dc:creator><category>a</category><category>b</category></item>
<item><title>First</title><link>https://blog.test/1</link></item>
</channel></rss>`);
  assert.equal(feed.format, "rss");
  assert.equal(feed.title, "Blog & news");
  assert.equal(feed.link, "https://blog.test/");
  assert.deepEqual(feed.entries, [
    {
      id: "0002",
      title: "Second",
      link: "https://blog.test/2",
      summary: "<b>two</b>",
      content: "<p>full</p>",
      published: "Tue, 02 Jan 2026 10:00:00 GMT",
      author: "Ana",
      categories: ["a", "b"],
    },
    { id: "https://blog.test/1", title: "First", link: "https://blog.test/1" },
  ]);
});

test("pollers - rss: Atom entries with id, alternate link, author and categories; RSS 1.0 (RDF) with rdf:about", () => {
  const atom = parseFeed(`<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">A</title><link rel="self" href="https://a.test/feed"/><link href="https://a.test/"/>
<entry><id>tag:a.test,2026:1</id><title type="html">One &lt;b&gt;</title><link rel="edit" href="https://a.test/edit/1"/><link rel="alternate" href="https://a.test/1"/>
<updated>2026-01-01T00:00:00Z</updated><published>2026-01-01T00:00:00Z</published><summary>s</summary><author><name>Bo</name></author><category term="x"/></entry>
<entry><title>No id</title><link href="https://a.test/2"/></entry></feed>`);
  assert.equal(atom.format, "atom");
  assert.equal(atom.link, "https://a.test/");
  assert.deepEqual(atom.entries[0], {
    id: "tag:a.test,2026:1",
    title: "One <b>",
    link: "https://a.test/1",
    summary: "s",
    published: "2026-01-01T00:00:00Z",
    updated: "2026-01-01T00:00:00Z",
    author: "Bo",
    categories: ["x"],
  });
  assert.equal(atom.entries[1].id, "https://a.test/2");
  const rdf =
    parseFeed(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://r.test/"><title>R</title><link>https://r.test/</link></channel>
<item rdf:about="https://r.test/1"><title>One</title><link>https://r.test/1</link></item></rdf:RDF>`);
  assert.equal(rdf.format, "rdf");
  assert.deepEqual(rdf.entries, [{ id: "https://r.test/1", title: "One", link: "https://r.test/1" }]);
});

test("pollers - rss: an item with neither guid nor link gets a stable content hash id; an empty channel has no entries", () => {
  const doc = `<rss><channel><title>x</title><item><title>Only a title</title><pubDate>d</pubDate></item></channel></rss>`;
  const a = parseFeed(doc).entries[0].id;
  assert.match(a, /^sha256:[0-9a-f]{32}$/);
  assert.equal(parseFeed(doc).entries[0].id, a);
  assert.deepEqual(parseFeed("<rss><channel><title>x</title></channel></rss>").entries, []);
});

test("pollers - rss: malformed XML and documents that are not feeds are NEXO_ERR_POLLER_PARSE", () => {
  for (const bad of ["<rss><channel><item></channel></rss>", "not xml at all", "<html><body>oops</body></html>", ""]) {
    assert.throws(
      () => parseFeed(bad),
      (e) => isNexoError(e, ErrorCodes.POLLER_PARSE),
      bad,
    );
  }
});
