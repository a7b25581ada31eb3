// Workflows of the bundled demo (`npm start` registers them; examples/demo/nexo.yaml): `nexo workflow run echo --input '{"text":"hi"}'`
// or `curl -XPOST localhost:8000/workflows/greet/execute -H 'content-type: application/json' -d '{"name":"Ada"}'`.

/** @param {import("nexo-host").Nexo} app */
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

  // The demo chain's middle step: a webhook event in, an SMS out (bound in examples/demo/nexo.yaml).
  app.register("notify", ({ to, name }) => ({ to, body: `hello, ${name}: your order has shipped` }), {
    description: "Turns {to, name} into the SMS {to, body} the sms_outbound plugin sends",
    inputSchema: {
      type: "object",
      required: ["to", "name"],
      properties: {
        to: { type: "string", pattern: "^\\+[1-9][0-9]{6,14}$", description: "E.164 phone number" },
        name: { type: "string", minLength: 1, maxLength: 200 },
      },
    },
  });
}
