/** Instance labels as the daemon's config allows them. */
const LABEL = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * The instance label: `NEXO_PLUGIN_INSTANCE` (set by the host, which also
 * narrows the allowlist to it), else `--instance <label>` / `--instance=<label>`
 * (running by hand). Both given and different is an error: the plugin would
 * publish on topics the host refuses. Undefined = single-instance mode.
 */
export function resolveInstance(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let fromArgs: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--instance") fromArgs = argv[i + 1];
    else if (a.startsWith("--instance=")) fromArgs = a.slice("--instance=".length);
  }
  const fromEnv = env.NEXO_PLUGIN_INSTANCE || undefined;
  if (fromEnv !== undefined && fromArgs !== undefined && fromEnv !== fromArgs) {
    throw new Error(`instance "${fromArgs}" from --instance differs from NEXO_PLUGIN_INSTANCE "${fromEnv}" given by the host; remove --instance from the manifest args`);
  }
  const label = fromEnv ?? fromArgs;
  if (label !== undefined && !LABEL.test(label)) throw new Error(`instance label ${JSON.stringify(label)} must match ${LABEL}`);
  return label;
}

/** `<prefix>.telegram` or `<prefix>.telegram.<instance>`. */
export function topicFor(prefix: "plugin.inbound" | "plugin.outbound" | "plugin.delivery", instance: string | undefined): string {
  return instance ? `${prefix}.telegram.${instance}` : `${prefix}.telegram`;
}
