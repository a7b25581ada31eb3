import type { FastifyReply, FastifyRequest } from "fastify";
import { sendError } from "./error-reply.js";

/** With its charset: fastify would otherwise append `; charset=utf-8` to `application/json` on every response. */
export const JSON_UTF8 = "application/json; charset=utf-8";

/** Most replies held in one turn: the one that reaches it sends them all at once, so the queue stays bounded. */
export const MAX_HELD_REPLIES = 256;

let replies: FastifyReply[] = [];
let bodies: string[] = [];

/**
 * Answer `reply` with `work`'s result as JSON (200), or its error through the
 * error handler. A result leaves at the end of the event-loop turn in which it
 * became ready, together with every other result ready in that turn, instead of
 * the moment it is ready: a client on the same host (a reverse proxy, a sidecar,
 * a load generator) is then woken once per turn rather than once per response,
 * which under load saves the server more kernel time than the wait costs
 * (docs/adr/0045-replies-leave-at-turn-end.md). `onSettled` runs as soon as
 * `work` settles, before the reply is held.
 */
export function replyAtTurnEnd(request: FastifyRequest, reply: FastifyReply, work: Promise<unknown>, onSettled?: () => void): void {
  work.then(
    (result) => {
      onSettled?.();
      let body: string;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (err) {
        // A bigint or a cycle: the same 500 an async route throwing it would give.
        reply.send(err);
        return;
      }
      hold(reply.type(JSON_UTF8), body);
    },
    (err: unknown) => {
      onSettled?.();
      // fastify's onError hooks and error handler take Errors through send; anything else thrown goes straight to ours.
      if (err instanceof Error) reply.send(err);
      else sendError(err, request, reply);
    },
  );
}

function hold(reply: FastifyReply, body: string): void {
  replies.push(reply);
  bodies.push(body);
  if (replies.length === 1) setImmediate(sendHeld);
  else if (replies.length >= MAX_HELD_REPLIES) sendHeld();
}

/** Send every held reply, in the order they became ready. */
function sendHeld(): void {
  const rs = replies;
  const bs = bodies;
  if (rs.length === 0) return;
  replies = [];
  bodies = [];
  for (let i = 0; i < rs.length; i++) {
    const reply = rs[i]!;
    // One reply failing must not keep the others from leaving.
    try {
      reply.send(bs[i]);
    } catch (err) {
      reply.log.error({ err }, "a held reply could not be sent");
    }
  }
}

/** Replies held now, waiting for the end of the turn (tests). */
export function heldReplies(): number {
  return replies.length;
}
