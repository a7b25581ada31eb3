// A Twilio-compatible SMS sandbox for the bundled demo: it answers Twilio's
// Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded
// To/From/Body, HTTP Basic auth) on the daemon's own port under
// /sandbox/twilio, so the sms_outbound plugin runs unchanged with no provider
// account. Accepted messages are kept (the last `max_messages`), listed by
// GET .../Messages.json like Twilio's list endpoint, and published on the
// broker as `sandbox.sms.sent`. Point api_base_url at https://api.twilio.com
// to send for real.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { Event, NexusPlugin } from "nexo-host";

const PREFIX = "/sandbox/twilio";
const E164 = /^\+[1-9][0-9]{6,14}$/;

export default class SmsSandboxPlugin extends NexusPlugin {
  get name() {
    return "sms_sandbox";
  }
  get description() {
    return "Twilio-compatible SMS sandbox on the daemon's port (demo)";
  }
  get version() {
    return "1.0.0";
  }

  /** @param {import("nexo-host").Nexo} app */
  setup(app) {
    const accountSid = String(this.config.account_sid ?? "");
    const authToken = String(this.config.auth_token ?? "");
    const max = Number(this.config.max_messages ?? 100);
    if (!/^AC[0-9a-zA-Z]{32}$/.test(accountSid)) throw new Error(`account_sid must be AC followed by 32 letters or digits, got ${JSON.stringify(accountSid)}`);
    if (authToken.length < 8) throw new Error("auth_token must be at least 8 characters");
    if (!Number.isInteger(max) || max < 1 || max > 10_000) throw new Error(`max_messages must be an integer from 1 to 10000, got ${JSON.stringify(this.config.max_messages)}`);
    /** @type {Array<Record<string, unknown>>} */
    const messages = [];
    const expected = Buffer.from(`Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`);
    const authorized = (header) => {
      const got = Buffer.from(String(header ?? ""));
      return got.length === expected.length && timingSafeEqual(got, expected);
    };
    const error = (reply, status, code, message) => reply.code(status).send({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

    // Its own fastify context: the form parser stays local to these routes.
    app.http.register(
      async (scope) => {
        scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 65_536 }, (_req, body, done) =>
          done(null, Object.fromEntries(new URLSearchParams(body))),
        );
        scope.get("/2010-04-01/Accounts/:sid/Messages.json", async (request, reply) => {
          if (!authorized(request.headers.authorization) || request.params.sid !== accountSid) return error(reply, 401, 20003, "Authenticate");
          return { messages: [...messages].reverse(), page_size: messages.length };
        });
        scope.post("/2010-04-01/Accounts/:sid/Messages.json", async (request, reply) => {
          if (!authorized(request.headers.authorization) || request.params.sid !== accountSid) return error(reply, 401, 20003, "Authenticate");
          const form = request.body && typeof request.body === "object" ? request.body : {};
          if (!form.To) return error(reply, 400, 21604, "A 'To' phone number is required.");
          if (!E164.test(form.To)) return error(reply, 400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
          if (!form.From) return error(reply, 400, 21603, "A 'From' phone number is required.");
          if (!form.Body) return error(reply, 400, 21602, "Message body is required.");
          const sid = `SM${randomBytes(16).toString("hex")}`;
          const now = new Date().toUTCString().replace("GMT", "+0000");
          const message = {
            sid,
            account_sid: accountSid,
            to: form.To,
            from: form.From,
            body: form.Body,
            status: "queued",
            num_segments: "1",
            direction: "outbound-api",
            api_version: "2010-04-01",
            date_created: now,
            date_updated: now,
            date_sent: null,
            error_code: null,
            error_message: null,
            price: null,
            uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
          };
          messages.push(message);
          if (messages.length > max) messages.shift();
          app.broker.publish("sandbox.sms.sent", Event.new("sandbox.sms.sent", this.name, { sid, to: form.To, from: form.From, body: form.Body })).catch(() => undefined);
          return reply.code(201).send(message);
        });
      },
      { prefix: PREFIX },
    );
  }
}
