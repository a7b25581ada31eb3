/**
 * Public tool names: 1-128 of `A-Z a-z 0-9 _ -`. MCP (SEP-986) also allows
 * `.`, but the function-calling APIs most MCP clients hand tools to
 * (`^[a-zA-Z0-9_-]{1,64}$` and the like) do not, and a dot-free name is one
 * broker topic segment (`tool.<name>.completed`).
 */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The public name of plugin `pluginKey`'s tool `name` (docs/contract.md:
 * `<plugin_id>_<name>`): the two joined by `_`, then every character outside
 * `A-Z a-z 0-9 _ -` (the dots of `stripe.create_invoice`, of an instance key
 * `telegram.sales`) replaced by `_`. A tool already in its plugin's namespace
 * (`<plugin_id>_...` or `ext_<plugin_id>_...`, upstream's naming rule) keeps
 * its name instead of getting a second prefix; under an instance key the
 * plugin id in it becomes the key (`telegram_send` of `telegram.sales` is
 * `telegram_sales_send`). Undefined when the result is longer than 128
 * characters. Distinct names can map to the same public name (`a.b` / `a_b`);
 * the registry keeps the first and logs the other.
 * @example publicToolName("billing", "stripe.create_invoice") === "billing_stripe_create_invoice"
 * @example publicToolName("refpy", "refpy_echo") === "refpy_echo"
 */
export function publicToolName(pluginKey: string, name: string): string | undefined {
  const pluginId = pluginKey.split(".")[0];
  let joined: string;
  if (name.startsWith(`${pluginId}_`) && name.length > pluginId.length + 1) joined = `${pluginKey}_${name.slice(pluginId.length + 1)}`;
  else if (name.startsWith(`ext_${pluginId}_`) && name.length > pluginId.length + 5) joined = `ext_${pluginKey}_${name.slice(pluginId.length + 5)}`;
  else joined = `${pluginKey}_${name}`;
  joined = joined.replace(/[^A-Za-z0-9_-]/g, "_");
  return TOOL_NAME_PATTERN.test(joined) ? joined : undefined;
}
