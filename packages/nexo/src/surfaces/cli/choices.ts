/**
 * Choices the CLI lists in its help and checks while parsing options, before any
 * library module is loaded. They mirror `SCAFFOLD_LANGS` (scaffold) and
 * `TRUST_MODES` (packaging); a unit test holds them equal, so the help text
 * cannot drift from what the library accepts.
 */
export const CLI_SCAFFOLD_LANGS: readonly string[] = ["ts", "python", "php", "rust"];
export const CLI_TRUST_MODES: readonly string[] = ["ignore", "warn", "require"];
