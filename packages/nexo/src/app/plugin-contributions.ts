/**
 * The key of the app's method that drops what one in-process plugin
 * contributed (hooks, middleware, workflows, services). A symbol kept inside
 * this folder, so only the plugin manager can call it: it is not app API.
 */
export const removePluginContributions: unique symbol = Symbol("nexo.removePluginContributions");
