/**
 * Port 587 as a client sees it (RFC 8314 section 3.2, RFC 3207): STARTTLS offered; before it, no AUTH offered and
 * no mail taken; after it, a certificate a client can trust and AUTH offered.
 */
import { endpoint, row, type CheckContext } from "../context";
import { describeError } from "../errors";
import { RawSession } from "../session";
import { authMechanisms, describeReply, hasExtension, isRefusal } from "../smtp";
import type { Row } from "../types";
import { certificateFacts, certificateRows, certificateUsable, inspectOnly } from "./certificate";
import type { PortResult } from "./implicitTls";

/** A sender in a reserved domain (RFC 2606): the probe never means to send anything. */
export const PROBE_SENDER = "verify-probe@example.net";

export async function checkStartTls(ctx: CheckContext, port: number): Promise<PortResult> {
  let session: RawSession;
  try {
    session = await RawSession.open(endpoint(ctx, port));
  } catch (e) {
    return { rows: [row(ctx, port, "connect", "FAIL", describeError(e))], tls: false, certificateUsable: false };
  }
  const rows: Row[] = [];
  try {
    const caps = await session.ehlo();
    const offered = hasExtension(caps, "STARTTLS");
    const before = authMechanisms(caps);
    rows.push(before.length === 0
      ? row(ctx, port, "no-auth-before-tls", "PASS", "AUTH not advertised before STARTTLS")
      : row(ctx, port, "no-auth-before-tls", "FAIL", `AUTH ${before.join(" ")} advertised before STARTTLS: passwords may travel in clear`));
    const mail = await session.command(`MAIL FROM:<${PROBE_SENDER}>`, "MAIL FROM before STARTTLS");
    if (isRefusal(mail)) {
      rows.push(row(ctx, port, "mail-refused-before-tls", "PASS", describeReply(mail)));
    } else {
      rows.push(row(ctx, port, "mail-refused-before-tls", "FAIL", `MAIL FROM accepted in clear: ${describeReply(mail)}`));
      await session.command("RSET", "RSET");
    }
    if (!offered) {
      rows.unshift(row(ctx, port, "starttls", "FAIL", "STARTTLS not offered"));
      return { rows, tls: false, certificateUsable: false };
    }
    const reply = await session.startTls(inspectOnly(ctx));
    const socket = session.tlsSocket;
    if (reply.code !== 220 || !socket) {
      rows.unshift(row(ctx, port, "starttls", "FAIL", `STARTTLS offered but refused: ${describeReply(reply)}`));
      return { rows, tls: false, certificateUsable: false };
    }
    rows.unshift(row(ctx, port, "starttls", "PASS", `offered; ${socket.getProtocol()} ${socket.getCipher().name}`));
    rows.push(...certificateRows(ctx, port, certificateFacts(socket, ctx.target.hostname)));
    const after = authMechanisms(await session.ehlo());
    rows.push(after.length > 0
      ? row(ctx, port, "auth-offered", "PASS", `AUTH ${after.join(" ")} after STARTTLS`)
      : row(ctx, port, "auth-offered", "FAIL", "no AUTH advertised after STARTTLS: clients cannot log in"));
    return { rows, tls: true, certificateUsable: certificateUsable(rows) };
  } catch (e) {
    const tlsUp = rows.some((r) => r.check === "starttls" && r.status === "PASS");
    rows.push(row(ctx, port, tlsUp ? "after-starttls" : "starttls", "FAIL", describeError(e)));
    return { rows, tls: false, certificateUsable: false };
  } finally {
    await session.quit();
  }
}
