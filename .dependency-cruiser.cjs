// Cycle check for the daemon's and the TypeScript SDK's sources (`npm run lint:cycles`, run by `npm run lint`).
// Type-only imports vanish at compile time, so they are left out: only imports
// that load a module at run time can form a cycle that matters (load order,
// half-initialised bindings, a folder that cannot be understood without the other).
/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-folder-cycle",
      severity: "error",
      comment: "A folder must not import values from a folder that imports values back from it.",
      scope: "folder",
      from: { path: "^packages/(nexo|plugin-sdk)/src/" },
      to: { circular: true },
    },
    {
      name: "no-module-cycle",
      severity: "error",
      comment: "No two modules may import values from each other, directly or through others.",
      from: { path: "^packages/(nexo|plugin-sdk)/src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: false,
  },
};
