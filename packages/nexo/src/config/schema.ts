import { PLUGIN_ID_PATTERN } from "nexo-plugin-sdk/contract";
import { llmConfigSchema } from "./llm-config.js";
import { clusterConfigSchema } from "./cluster-config.js";

/** JSON Schema of `nexo.yaml` (after defaults). Kept beside the defaults so the two stay in step. */
export const configSchema = {
  $id: "https://nexo.dev/schemas/nexo.yaml.json",
  type: "object",
  additionalProperties: false,
  properties: {
    state_dir: { type: "string", minLength: 1, description: "Where plugin state, the control socket and the SQLite store live." },
    log_level: { enum: ["trace", "debug", "info", "warn", "error", "fatal", "silent"] },
    broker: { type: "string", pattern: "^(local|nats://.+)$", description: "`local` (in-process) or a nats:// URL." },
    store: { type: "string", pattern: "^(sqlite:.+|postgres(ql)?://.+)$" },
    cluster: clusterConfigSchema,
    api: {
      type: "object",
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean" },
        host: { type: "string", minLength: 1 },
        port: { type: "integer", minimum: 0, maximum: 65535 },
        max_body_bytes: { type: "integer", minimum: 1, maximum: 1073741824, description: "Largest request body accepted (413 above). Default 1 MiB." },
        mcp_allowed_origins: {
          type: "array",
          items: { type: "string", pattern: "^https?://[^/?#]+$" },
          description: "Browser origins allowed to call /mcp besides loopback and the API host, e.g. https://app.example.com.",
        },
        cors: {
          type: "object",
          additionalProperties: false,
          required: ["origins"],
          description: "Cross-origin browser access (off unless origins are listed).",
          properties: {
            origins: { type: "array", items: { type: "string", pattern: "^(\\*|https?://[^/?#]+)$" } },
            methods: { type: "array", items: { type: "string", pattern: "^[A-Z]+$" } },
            allowed_headers: { type: "array", items: { type: "string", minLength: 1 } },
            exposed_headers: { type: "array", items: { type: "string", minLength: 1 } },
            credentials: { type: "boolean" },
            max_age_seconds: { type: "integer", minimum: 0, maximum: 86400 },
          },
        },
        security_headers: { type: "boolean", description: "Standard security headers (helmet) on every response. Default true." },
      },
    },
    runs: {
      type: "object",
      additionalProperties: false,
      description: "Asynchronous runs and idempotency keys (docs/runs.md).",
      properties: {
        retention_seconds: { type: "integer", minimum: 1, description: "How long finished runs and idempotency keys are kept. Default 86400." },
        max_concurrent: { type: "integer", minimum: 1, description: "Runs executing at once. Default 16." },
        max_queued: { type: "integer", minimum: 0, description: "Runs waiting beyond max_concurrent (503 above). Default 1000." },
        event_buffer: { type: "integer", minimum: 1, description: "Progress events kept per run. Default 256." },
        max_event_streams: { type: "integer", minimum: 1, description: "GET /runs/:id/events streams open at once (503 above). Default 256." },
      },
    },
    schedules: {
      type: "array",
      description: "Workflows run on a schedule (cron with a time zone, or every N seconds), once per tick across daemons sharing the store.",
      items: { $ref: "#/$defs/scheduleEntry" },
    },
    control: {
      type: "object",
      additionalProperties: false,
      properties: { socket: { type: "string", minLength: 1 } },
    },
    plugin_paths: { type: "array", items: { type: "string", minLength: 1 } },
    plugins: {
      type: "object",
      description: "Per plugin id: one entry (object) or several instances (array).",
      additionalProperties: {
        anyOf: [{ $ref: "#/$defs/pluginEntry" }, { type: "array", items: { $ref: "#/$defs/pluginEntry" }, minItems: 1 }],
      },
    },
    sandbox: {
      type: "object",
      additionalProperties: false,
      description: "How subprocess plugins are contained (docs/sandbox.md).",
      properties: {
        require: { type: "boolean", description: "Refuse to run any plugin without a sandbox (its own [plugin.sandbox] or `default`)." },
        default: { $ref: "#/$defs/sandboxEntry" },
        allow_host_network: { type: "array", items: { type: "string", pattern: PLUGIN_ID_PATTERN.source }, description: 'Plugin ids allowed network = "host" in their sandbox.' },
        limits: { $ref: "#/$defs/limitsEntry" },
      },
    },
    permissions: {
      type: "object",
      additionalProperties: false,
      description: "What plugins may use beyond their channels (docs/sandbox.md, Permissions).",
      properties: {
        enforce: { type: "boolean", description: "Every plugin may use only what it is granted: plugins.<id>.grants, else what its manifest declares. Default false." },
      },
    },
    timeouts: {
      type: "object",
      additionalProperties: false,
      properties: {
        plugin_init_ms: { type: "integer", minimum: 1 },
        plugin_tool_ms: { type: "integer", minimum: 1 },
        plugin_shutdown_grace_ms: { type: "integer", minimum: 1 },
      },
    },
    bindings: {
      type: "array",
      description: "Agent bindings: an inbound topic pattern (or channel kind + instance) bound to a workflow whose result goes to the outbound topic.",
      items: { $ref: "#/$defs/bindingEntry" },
    },
    pollers: {
      type: ["string", "object"],
      description: "YAML-only pollers: the section inline, or the path of a pollers.yaml (checked in detail by the pollers schema).",
    },
    in_process_plugins: {
      type: "object",
      description: "In-process plugins in setup order: a built-in by name, or `module: ./file.mjs` for your own; other keys are its options.",
      additionalProperties: { anyOf: [{ type: "null" }, { type: "object", properties: { module: { type: "string", minLength: 1 } } }] },
    },
    llm: { ...llmConfigSchema, description: "LLM providers by name (kind openai | anthropic, base_url, model, api_key_env, timeout_ms, max_retries)." },
    memory: {
      type: "object",
      additionalProperties: false,
      description: "The embedded agent memory on the store.",
      properties: {
        remember_tool: { type: "boolean", description: "Register the built-in memory_remember tool. Default false." },
        backend: {
          type: "string",
          pattern: "^[a-z][a-z0-9_]{0,63}$",
          description: "A memory backend plugin (extends.memory_backends) used instead of the embedded store; `embedded` is the store.",
        },
      },
    },
    authorization: {
      type: "object",
      additionalProperties: false,
      description: "Who may run which workflow and call which tool, on every surface (docs/authorization.md). Checked in detail when loaded.",
      properties: {
        default: { enum: ["allow", "deny"] },
        roles_claim: { type: "string", minLength: 1 },
        tenant_claim: { type: "string", minLength: 1 },
        rules: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["principals"],
            properties: {
              name: { type: "string", minLength: 1, maxLength: 64 },
              principals: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
              workflows: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
              tools: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
              admin: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
              effect: { enum: ["allow", "deny"] },
            },
          },
        },
        audit: {
          type: "object",
          additionalProperties: false,
          properties: { enabled: { type: "boolean" }, decisions: { enum: ["all", "denied"] }, retention_days: { type: "integer", minimum: 1, maximum: 3650 } },
        },
      },
    },
    workflows: {
      type: "array",
      description: "Modules registering workflows: each exports default (or register) (app) => void.",
      items: { type: "string", minLength: 1 },
    },
  },
  $defs: {
    scheduleEntry: {
      type: "object",
      additionalProperties: false,
      required: ["name", "workflow"],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9][a-z0-9_.-]{0,63}$" },
        workflow: { type: "string", minLength: 1 },
        cron: { type: "string", minLength: 1, description: "5 or 6 fields (croner syntax; 6 start with seconds)." },
        timezone: { type: "string", minLength: 1, description: "IANA time zone of the cron expression. Default UTC." },
        every_seconds: { type: "integer", minimum: 1, maximum: 31536000 },
        inputs: { type: "object" },
        jitter_seconds: { type: "number", minimum: 0, maximum: 3600 },
        overlap: { type: "boolean", description: "Start a tick while the previous run still runs. Default false: the tick is skipped." },
        enabled: { type: "boolean" },
      },
    },
    bindingEntry: {
      type: "object",
      additionalProperties: false,
      description: "Runs a workflow or an agent: exactly one of the two.",
      oneOf: [{ required: ["workflow"] }, { required: ["agent"] }],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9][a-z0-9_.-]{0,63}$" },
        channel: { type: "string", pattern: PLUGIN_ID_PATTERN.source },
        instance: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" },
        inbound: { type: "string", minLength: 1 },
        workflow: { type: "string", minLength: 1 },
        agent: {
          type: "object",
          description:
            "An LLM agent instead of a workflow: provider, model, system_prompt, tools (names or globs), memory {recall, backend, agent_id}, max_steps, history, max_tokens, temperature, text_field (checked in detail by parseAgent).",
        },
        outbound: { type: "string", minLength: 1 },
        inputs: { enum: ["payload", "event"] },
        concurrency: { type: "integer", minimum: 1, maximum: 1024 },
        queue_size: { type: "integer", minimum: 1, maximum: 1048576 },
      },
    },
    sandboxEntry: {
      type: "object",
      additionalProperties: false,
      description: "A sandbox for plugins that declare none: the fields of [plugin.sandbox].",
      properties: {
        network: { enum: ["deny", "host"] },
        fs_read_paths: { type: "array", items: { type: "string", pattern: "^(/|\\$\\{state_dir\\})" } },
        fs_write_paths: { type: "array", items: { type: "string", pattern: "^(/|\\$\\{state_dir\\})" } },
        drop_user: { type: "boolean" },
      },
    },
    limitsEntry: {
      type: "object",
      additionalProperties: false,
      properties: {
        memory_mb: {
          type: "integer",
          minimum: 16,
          description: "Memory in MiB: cgroup memory.max where the daemon can make cgroups, else address space (RLIMIT_AS; Node needs about 1024).",
        },
        processes: { type: "integer", minimum: 1, description: "Processes: cgroup pids.max, else RLIMIT_NPROC (counted per uid)." },
        open_files: { type: "integer", minimum: 8 },
        cpu_weight: { type: "integer", minimum: 1, maximum: 10000, description: "CPU share (100 = equal): cgroup cpu.weight, else a nice level below 100." },
      },
    },
    pluginEntry: {
      type: "object",
      properties: {
        limits: { $ref: "#/$defs/limitsEntry" },
        grants: {
          type: "array",
          description:
            "What the plugin may use beyond its channels: llm, memory, http_server, broker.subscribe:<pattern>, broker.publish:<pattern>. Listing them enforces them for this plugin.",
          items: { type: "string", pattern: "^(llm|memory|http_server|broker\\.(subscribe|publish):[^\\s]+)$" },
        },
        enabled: { type: "boolean" },
        instance: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" },
        config: {},
        env: { type: "object", additionalProperties: { type: "string" } },
      },
    },
  },
} as const;
