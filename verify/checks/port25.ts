/**
 * Port 25 is for server-to-server mail: if it answers, it must offer no AUTH, neither in clear nor after STARTTLS,
 * or clients (and password guessers) find a login on the MX port that RFC 8314 moves to 465/587.
 */
import { endpoint, row, type CheckContext } from "../context";
import { describeError } from "../errors";
import { RawSession } from "../session";
import { authMechanisms, describeReply, hasExtension } from "../smtp";
import type { Row } from "../types";

const PORT = 25;

export async function checkPort25(ctx: CheckContext): Promise<Row> {
  let session: RawSession;
  try {
    session = await RawSession.open(endpoint(ctx, PORT));
  } catch (e) {
    return row(ctx, PORT, "no-auth-on-25", "SKIP", `port 25 does not answer (${describeError(e)})`);
  }
  try {
    const caps = await session.ehlo();
    const clear = authMechanisms(caps);
    if (clear.length > 0) return row(ctx, PORT, "no-auth-on-25", "FAIL", `AUTH ${clear.join(" ")} offered in clear`);
    if (!hasExtension(caps, "STARTTLS")) return row(ctx, PORT, "no-auth-on-25", "PASS", "no AUTH (no STARTTLS either)");
    // Port 25's certificate is not what this tool verifies (MX TLS is opportunistic), only what comes after it.
    const reply = await session.startTls({ rejectUnauthorized: false });
    if (reply.code !== 220) return row(ctx, PORT, "no-auth-on-25", "PASS", `no AUTH; STARTTLS refused: ${describeReply(reply)}`);
    const secured = authMechanisms(await session.ehlo());
    return secured.length > 0
      ? row(ctx, PORT, "no-auth-on-25", "FAIL", `AUTH ${secured.join(" ")} offered after STARTTLS`)
      : row(ctx, PORT, "no-auth-on-25", "PASS", "no AUTH before or after STARTTLS");
  } catch (e) {
    return row(ctx, PORT, "no-auth-on-25", "WARN", `answered, then: ${describeError(e)}`);
  } finally {
    await session.quit();
  }
}
