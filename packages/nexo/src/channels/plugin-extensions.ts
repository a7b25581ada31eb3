import type { PluginSupervisor } from "../host/index.js";
import type { HookPoints } from "../app/index.js";
import type { ChannelService } from "./channel-service.js";

/**
 * The `[plugin.extends] channels` and `hooks` of each subprocess plugin, by
 * key: attached when the host adds the plugin, detached when it is removed
 * (live reload), so both can be torn down and added again per plugin.
 */
export class PluginExtensions {
  private readonly detachers = new Map<string, () => void>();

  constructor(
    private readonly hooks: HookPoints,
    private readonly channels: ChannelService,
  ) {}

  /** Serve the plugin's channels and call its hooks (replacing an earlier attachment of the same key). Throws NEXO_ERR_HOST_CHANNEL_KIND_TAKEN. */
  attach(sup: PluginSupervisor): void {
    this.detach(sup.key);
    const offHooks = this.hooks.attachPlugin(sup);
    let offChannels: () => void;
    try {
      offChannels = this.channels.attach(sup);
    } catch (err) {
      offHooks();
      throw err;
    }
    this.detachers.set(sup.key, () => {
      offHooks();
      offChannels();
    });
  }

  /** Undo `attach` for plugin `key`; false when nothing was attached. Sends nothing to the plugin (its stop sends `channel.stop`). */
  detach(key: string): boolean {
    const off = this.detachers.get(key);
    if (!off) return false;
    this.detachers.delete(key);
    off();
    return true;
  }
}
