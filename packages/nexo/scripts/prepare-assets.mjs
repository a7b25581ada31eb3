#!/usr/bin/env node
// npm pack's prepack/postpack step: fill packages/nexo/assets/ with what an
// installed nexo needs at run time (templates, conformance vectors, the demo,
// the four SDK artifacts), or remove it again (`--clean`) so a checkout keeps
// reading the live sources. Runs after `tsc -b` (it imports dist/).
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const assets = fileURLToPath(new URL("../assets/", import.meta.url));
if (process.argv.includes("--clean")) {
  rmSync(assets, { recursive: true, force: true });
} else {
  const { prepareAssets } = await import("../dist/scaffold/prepare-assets.js");
  const checkout = fileURLToPath(new URL("../../../", import.meta.url));
  const index = await prepareAssets(checkout, assets, (line) => process.stderr.write(`${line}\n`));
  process.stderr.write(
    `assets: ${Object.values(index.sdk)
      .map((a) => a.path)
      .join(", ")}\n`,
  );
}
