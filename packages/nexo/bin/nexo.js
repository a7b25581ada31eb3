#!/usr/bin/env node
import { main } from "../dist/surfaces/cli/index.js";
main(process.argv).catch((err) => {
  process.stderr.write(`nexo: ${err?.message ?? err}\n`);
  process.exit(1);
});
