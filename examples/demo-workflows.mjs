// Workflows of the bundled demo (`npm start` registers them): `nexo workflow run echo --input '{"text":"hi"}'`
// or `curl -XPOST localhost:8000/workflows/greet/execute -H 'content-type: application/json' -d '{"name":"Ada"}'`.

/** @param {import("nexo").Nexo} app */
export default function registerDemoWorkflows(app) {
  app.register("echo", (inputs) => inputs, {
    description: "Returns its inputs unchanged (the smallest workflow; used by the HTTP benchmark)",
    inputSchema: { type: "object" },
  });

  app.register("greet", ({ name, language }) => ({ text: `${language === "es" ? "hola" : "hello"}, ${name}` }), {
    description: "Greets someone by name",
    inputSchema: {
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: {
        name: { type: "string", minLength: 1, maxLength: 200 },
        language: { enum: ["en", "es"], default: "en" },
      },
    },
  });
}
