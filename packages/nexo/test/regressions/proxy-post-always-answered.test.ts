// Every request through the reverse proxy ends with the plugin's answer, 502 or 504, whether
// or not it carried a body: a POST to a hanging, dying or restarting plugin is never left open.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import type { PluginSpec } from "../../src/host/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { httpCall } from "../helpers/http-client.js";
import { httpFixturePlugin, type HttpFixtureOptions } from "../helpers/http-fixture.js";
import { waitFor } from "../helpers/wait.js";

/** Longer than any answer the proxy owes here: past it the request counts as unanswered. */
const NO_ANSWER_MS = 20_000;
const JSON_BODY = JSON.stringify({ event: "push", commits: [{ id: "abc", message: "x".repeat(2000) }] });

async function startWith(t: TestContext, fixture: HttpFixtureOptions) {
  const { app, logs } = testApp(t, { http: true });
  const manifest = httpFixturePlugin(join(tempDir(t), "p"), fixture);
  const spec: PluginSpec = { manifest };
  app.host.add(spec);
  await app.start();
  await waitFor(async () => (await httpCall(`${app.url}/hooks/web/echo`)).status === 200, "route ready", 15_000, 25);
  return { app, logs };
}

/** POST `body` and resolve with the status, or 0 when nothing came back within NO_ANSWER_MS. */
function postOrHang(url: string, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        clearTimeout(timer);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on("error", () => resolve({ status: -1, json: undefined }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ status: 0, json: undefined });
    }, NO_ANSWER_MS);
    req.on("error", () => {
      clearTimeout(timer);
      resolve({ status: -1, json: undefined });
    });
    req.end(body);
  });
}

test("proxy regression - a POST with a JSON body to a plugin that never answers gets 504 after timeout_seconds", async (t) => {
  const { app } = await startWith(t, { timeoutSeconds: 1 });
  const r = await postOrHang(`${app.url}/hooks/web/slow`, JSON_BODY);
  assert.equal(r.status, 504, "answered 504, not left open");
  assert.equal(r.json.error.code, ErrorCodes.PROXY_TIMEOUT);
});

test("proxy regression - a POST with a JSON body to a plugin that dies mid-request gets 502", async (t) => {
  const { app } = await startWith(t, { supervisor: { respawn: false } });
  const r = await postOrHang(`${app.url}/hooks/web/die`, JSON_BODY);
  assert.equal(r.status, 502, "answered 502, not left open");
  assert.equal(r.json.error.code, ErrorCodes.PROXY_UPSTREAM_FAILED);
});

test("proxy regression - during a plugin restart every concurrent webhook POST gets an answer", async (t) => {
  const { app } = await startWith(t, {});
  const N = 40;
  const url = `${app.url}/hooks/web/delay?ms=5000`;
  const inFlight = Array.from({ length: N }, () => postOrHang(url, JSON_BODY));
  // Every one of them has reached the plugin and waits for its answer.
  await waitFor(async () => Number((await httpCall(`http://127.0.0.1:${app.proxy.portOf("web")}/delayed`)).text) === N, "requests held by the plugin", 15_000, 25);
  const restarting = app.host.restart("web");
  // More arrive while the plugin is going down and coming back.
  const during = Array.from({ length: N }, () => postOrHang(`${app.url}/hooks/web/delay?ms=1`, JSON_BODY));
  await restarting;
  const answers = [...(await Promise.all(inFlight)), ...(await Promise.all(during))];
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(
    statuses.filter((s) => ![200, 502, 503].includes(s)),
    [],
    `every POST answered 200, 502 or 503 (0 = no answer, -1 = connection cut): ${statuses.join(",")}`,
  );
  for (const a of answers.slice(0, N)) assert.equal(a.status, 502, "the requests the old process held end with 502");
  await waitFor(async () => (await postOrHang(`${app.url}/hooks/web/delay?ms=1`, JSON_BODY)).status === 200, "routed again after the restart", 15_000, 25);
});
