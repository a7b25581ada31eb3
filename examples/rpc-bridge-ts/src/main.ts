// Plugin pattern 3 (RPC bridge): a third-party HTTP API (Stripe-style invoices) as
// agent tools. stripe.create_invoice uses the topic form (a call arrives
// on plugin.tool.stripe.create_invoice, the answer goes to its .reply topic);
// get_invoice uses the contract's tool.invoke. The daemon checks arguments
// against each tool's schema before the call reaches this process.
import { readFileSync } from "node:fs";
import { PluginAdapter, textResult, ToolNotFoundError, type ToolDef } from "nexo-plugin-sdk";
import { StripeClient } from "./stripe-client.js";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");

/** Operator settings (`plugins.billing` in nexo.yaml, sent as plugin.configure). */
interface BillingConfig {
  api_base?: string;
  timeout_ms?: number;
}

let client = new StripeClient({ apiBase: "https://api.stripe.com", apiKey: process.env.STRIPE_API_KEY, timeoutMs: 20_000 });

const GET_INVOICE: ToolDef = {
  name: "get_invoice",
  description: "Fetch one invoice by id (in_...)",
  input_schema: { type: "object", additionalProperties: false, required: ["id"], properties: { id: { type: "string", pattern: "^in_[A-Za-z0-9]+$" } } },
};

/** What an agent reads first, plus the whole invoice as structured content. */
function invoiceResult(verb: string, invoice: Record<string, unknown>) {
  const amount = typeof invoice.amount_due === "number" ? ` amount due ${invoice.amount_due} ${String(invoice.currency ?? "")}`.trimEnd() : "";
  return { ...textResult(`${verb} invoice ${String(invoice.id)} for ${String(invoice.customer)}: ${String(invoice.status)}${amount}`), structured_content: invoice };
}

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  tools: [GET_INVOICE],
  onConfigure: (value) => {
    const cfg = (value ?? {}) as BillingConfig;
    if (cfg.api_base !== undefined && !/^https?:\/\//.test(cfg.api_base)) throw new Error("api_base must be an http(s) URL");
    client = new StripeClient({ apiBase: cfg.api_base ?? "https://api.stripe.com", apiKey: process.env.STRIPE_API_KEY, timeoutMs: cfg.timeout_ms ?? 20_000 });
  },
  onTool: async (invocation, ctx) => {
    if (invocation.tool_name !== GET_INVOICE.name) throw new ToolNotFoundError(invocation.tool_name);
    return invoiceResult("Found", await client.getInvoice(String(invocation.args.id), ctx.signal));
  },
});

// The call event's id doubles as Stripe's Idempotency-Key: the same call is never billed twice.
adapter.onTopicTool("stripe.create_invoice", async (args, event) => invoiceResult("Created", await client.createInvoice(args, event.id)));

await adapter.run();
