#!/usr/bin/env node
import { main } from "../dist/surfaces/cli/index.js";

// Exit explicitly once the command is done: a finished command must not linger
// on a handle it no longer needs (e.g. a piped stdin it never reads).
main(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`nexo: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
