import { AuthPlugin } from "./auth/index.js";
import { registerBuiltinPlugin } from "./builtin-registry.js";
import { CachingPlugin } from "./caching/index.js";
import { DatabasePlugin } from "./database/index.js";
import { MetricsPlugin } from "./metrics/index.js";
import { MonitoringPlugin } from "./monitoring/index.js";
import { optionsFromYaml } from "./option-checks.js";
import { RateLimitPlugin } from "./rate-limit/index.js";
import { RequestLoggerPlugin } from "./request-logger/index.js";
import { WebhookPlugin } from "./webhook/index.js";

// nexo.yaml `in_process_plugins:` names of the built-ins. Options arrive in
// snake_case with `<key>_env: VAR` for secrets; each constructor checks them.
registerBuiltinPlugin("auth", (o) => new AuthPlugin(optionsFromYaml("auth", o)));
registerBuiltinPlugin("monitoring", (o) => new MonitoringPlugin(optionsFromYaml("monitoring", o)));
registerBuiltinPlugin("rate_limit", (o) => new RateLimitPlugin(optionsFromYaml("rate_limit", o)));
registerBuiltinPlugin("request_logger", (o) => new RequestLoggerPlugin(optionsFromYaml("request_logger", o)));
registerBuiltinPlugin("metrics", (o) => new MetricsPlugin(optionsFromYaml("metrics", o) as Record<string, never>));
registerBuiltinPlugin("webhook", (o) => new WebhookPlugin(optionsFromYaml("webhook", o, ["headers"])));
registerBuiltinPlugin("caching", (o) => new CachingPlugin(optionsFromYaml("caching", o)));
registerBuiltinPlugin("database", (o) => new DatabasePlugin(optionsFromYaml("database", o)));

/** Names of the built-in plugins as nexo.yaml spells them. */
export const BUILTIN_PLUGIN_NAMES = ["auth", "monitoring", "rate_limit", "request_logger", "metrics", "webhook", "caching", "database"] as const;
