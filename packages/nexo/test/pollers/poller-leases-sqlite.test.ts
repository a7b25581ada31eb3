import { join } from "node:path";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runLeaseSuite } from "./poller-leases.contract.js";

runLeaseSuite("pollers - leases on SQLite", async (t) => `sqlite:${join(tempDir(t), "shared.db")}`);
