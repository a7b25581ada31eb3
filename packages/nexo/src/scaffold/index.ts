export { defaultRepoRoot, SCAFFOLD_LANGS, scaffoldPlugin } from "./scaffold-plugin.js";
export type { ScaffoldLang, ScaffoldOptions, ScaffoldResult } from "./scaffold-plugin.js";
