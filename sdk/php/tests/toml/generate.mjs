// Regenerates valid/*.json from valid/*.toml with smol-toml, the parser the host uses,
// and lists invalid/*.toml cases smol-toml accepts (the PHP reader is stricter there).
// Run from the repository root: node sdk/php/tests/toml/generate.mjs
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

const dir = fileURLToPath(new URL(".", import.meta.url));
for (const f of readdirSync(`${dir}/valid`).filter((f) => f.endsWith(".toml"))) {
  const v = parse(readFileSync(`${dir}/valid/${f}`, "utf8"));
  writeFileSync(`${dir}/valid/${f.replace(/\.toml$/, ".json")}`, `${JSON.stringify(v, null, 1)}\n`);
}
for (const f of readdirSync(`${dir}/invalid`)) {
  try {
    parse(readFileSync(`${dir}/invalid/${f}`, "utf8"));
    console.log(`smol-toml accepts invalid/${f}`);
  } catch {
    // expected: both parsers refuse it
  }
}
