/**
 * No relaying without AUTH: inside TLS, an unauthenticated MAIL FROM / RCPT TO to an outside domain must be refused
 * (4xx or 5xx). The attempt stops at RCPT and never reaches DATA, so even an open relay receives no message.
 */
import { endpoint, row, type CheckContext } from "../context";
import { describeError } from "../errors";
import { RawSession } from "../session";
import { describeReply, isRefusal } from "../smtp";
import type { Row } from "../types";
import { PROBE_SENDER } from "./starttls";

export async function checkRelay(ctx: CheckContext, port: number, starttls: boolean): Promise<Row> {
  const to = ctx.options.relayTo;
  const tlsOptions = { ca: ctx.trust.ca, rejectUnauthorized: false };
  let session: RawSession | undefined;
  try {
    session = starttls ? await RawSession.open(endpoint(ctx, port)) : await RawSession.open(endpoint(ctx, port), tlsOptions);
    await session.ehlo();
    if (starttls) {
      const reply = await session.startTls(tlsOptions);
      if (reply.code !== 220) return row(ctx, port, "relay-refused", "SKIP", `STARTTLS refused: ${describeReply(reply)}`);
      await session.ehlo();
    }
    const mail = await session.command(`MAIL FROM:<${PROBE_SENDER}>`, "MAIL FROM");
    if (isRefusal(mail)) return row(ctx, port, "relay-refused", "PASS", `MAIL FROM refused without AUTH: ${describeReply(mail)}`);
    const rcpt = await session.command(`RCPT TO:<${to}>`, "RCPT TO");
    await session.command("RSET", "RSET");
    return isRefusal(rcpt)
      ? row(ctx, port, "relay-refused", "PASS", `RCPT TO:<${to}> refused without AUTH: ${describeReply(rcpt)}`)
      : row(ctx, port, "relay-refused", "FAIL", `open relay: RCPT TO:<${to}> accepted without AUTH: ${describeReply(rcpt)}`);
  } catch (e) {
    return row(ctx, port, "relay-refused", "FAIL", `could not ask: ${describeError(e)}`);
  } finally {
    await session?.quit();
  }
}
