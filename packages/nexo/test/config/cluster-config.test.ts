import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerClusterOptions } from "../../src/cluster/index.js";
import { clusterConfigFromYaml, normalizeConfig } from "../../src/config/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";

test("config - cluster.loss_accounting: on by default, tuned or turned off, and handed to the broker", () => {
  assert.deepEqual(normalizeConfig({}, null, "/srv").cluster.lossAccounting, {});
  const tuned = normalizeConfig({ cluster: { loss_accounting: { sync_interval_ms: 50, peer_ttl_ms: 4000 } } }, null, "/srv").cluster;
  assert.deepEqual(tuned.lossAccounting, { syncIntervalMs: 50, peerTtlMs: 4000 });
  assert.deepEqual(brokerClusterOptions(tuned, "sqlite:x.db").lossAccounting, { syncIntervalMs: 50, peerTtlMs: 4000 });
  assert.equal(clusterConfigFromYaml({ loss_accounting: { enabled: false, sync_interval_ms: 50 } }).lossAccounting, false);
  assert.throws(
    () => normalizeConfig({ cluster: { loss_accounting: { sync_interval_ms: 0 } } }, null, "/srv"),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && /sync_interval_ms/.test(e.message),
  );
});
