import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { TestContext } from "node:test";

/**
 * True when python3 can import the official MCP client (stdio and Streamable HTTP).
 * Otherwise the test is skipped, or failed with CI=true: scripts/setup.sh installs
 * the client, so CI must never skip.
 */
export function pythonMcpOrSkip(t: TestContext): boolean {
  try {
    execFileSync("python3", ["-c", "import mcp.client.stdio, mcp.client.streamable_http"], { stdio: "ignore" });
    return true;
  } catch {
    if (process.env.CI === "true") assert.fail("python3 cannot import mcp: run scripts/setup.sh");
    t.skip("python3 has no mcp package (scripts/setup.sh installs it)");
    return false;
  }
}
