import { usePostgresServer } from "../helpers/postgres-server.js";
import { runLeaseSuite } from "./poller-leases.contract.js";

const postgres = usePostgresServer();

runLeaseSuite("pollers - leases on PostgreSQL", async (t) => {
  const server = await postgres(t);
  return server ? server.createDatabase() : null;
});
