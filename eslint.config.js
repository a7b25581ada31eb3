// Lint: typescript-eslint's recommended rules, and the folder boundary of packages/nexo/src.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * A relative import may name a file of its own folder or of a folder above it
 * (`./x.js`, `../errors.js`), or another folder only through an `index.js`
 * (`../broker/index.js`, `../surfaces/http/index.js`, `../host/sandbox/index.js`);
 * reaching past an index (`../app/nexo.js`) is refused. Each folder's index.ts
 * is its public surface; its other files may change without telling anyone.
 */
const THROUGH_INDEX_ONLY = String.raw`^\.{1,2}/(?!(\.\./)*(([^/]+/)+index\.js|[^/]+)$)`;

export default tseslint.config(
  {
    ignores: ["**/node_modules/", "**/dist/", "**/target/", "**/.venv/", "**/vendor/", "sdk/php/", "templates/", "coverage/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module" },
    rules: {
      // tsc (strict, tests included) checks names; ESLint without a globals list would only repeat it wrongly.
      "no-undef": "off",
      // `any` is allowed where a test or a generic bound needs it; strict tsc catches the rest.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      // A timer or handle declared before the closure that reads it, assigned once after.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ["packages/nexo/src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: THROUGH_INDEX_ONLY,
              message: "Import another folder through its index.js (add the export there); only the folder itself may use its other files.",
            },
          ],
        },
      ],
    },
  },
);
