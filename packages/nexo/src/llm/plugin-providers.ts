import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginHost } from "../host/index.js";
import type { LlmService } from "./llm-service.js";
import { PluginLlmProvider } from "./plugin-provider.js";

/**
 * Make every subprocess plugin that lists `[plugin.extends].llm_providers`
 * a provider of `llm` under each listed name. A name a configured provider or
 * another plugin already has refuses the plugin when it is added
 * (NEXO_ERR_LLM_PROVIDER_CONFLICT, logged as "plugin refused"). The instances
 * of one multi-instance plugin share the name; the first one added serves it.
 * Returns a function that detaches.
 */
export function attachLlmProviderPlugins(host: PluginHost, llm: LlmService): () => void {
  const offCheck = host.addValidator((spec) => {
    for (const name of spec.manifest.extends.llmProviders) {
      const existing = llm.get(name);
      if (!existing) continue;
      if (existing instanceof PluginLlmProvider && host.get(existing.pluginKey)?.spec.manifest.id === spec.manifest.id) continue;
      throw new NexoError(
        ErrorCodes.LLM_PROVIDER_CONFLICT,
        `plugin ${spec.manifest.id} (${spec.manifest.file}) serves LLM provider "${name}", which ${existing instanceof PluginLlmProvider ? `plugin ${existing.pluginKey} already serves` : "llm.providers in nexo.yaml already configures"}; rename one of them`,
        { pluginId: spec.manifest.id, field: "plugin.extends.llm_providers", data: { provider: name } },
      );
    }
  });
  const offAdded = host.onPluginAdded((sup) => {
    for (const name of sup.spec.manifest.extends.llmProviders) {
      if (!llm.get(name)) llm.addProvider(new PluginLlmProvider(name, sup));
    }
  });
  // A plugin removed by a reload takes its providers with it, so a later plugin (or the config) may use the names.
  const offRemoved = host.onPluginRemoved((sup) => {
    for (const name of sup.spec.manifest.extends.llmProviders) {
      const p = llm.get(name);
      if (p instanceof PluginLlmProvider && p.pluginKey === sup.key) llm.removeProvider(name);
    }
  });
  return () => {
    offCheck();
    offAdded();
    offRemoved();
  };
}
