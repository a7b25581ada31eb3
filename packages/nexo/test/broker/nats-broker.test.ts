import { NatsBroker } from "../../src/broker/index.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { runBrokerContract } from "./broker.contract.js";

runBrokerContract("broker - nats", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return null;
  const broker = await NatsBroker.connect(server.url);
  t.after(async () => {
    await broker.close();
    await server.stop();
  });
  // A subscription is live once the server has processed it: flush is the round trip that proves it.
  return { broker, settle: () => broker.flush() };
});
