/**
 * IMAPS (993) and POP3S (995) as a client sees them (RFC 8314 §3.2, §4.1): TLS from the first byte, a certificate
 * it can trust for the hostname, TLS 1.0/1.1 refused, a login offered inside TLS (and with a test account, accepted),
 * and on the protocol's cleartext port (143, 110), if anything answers there, no way to log in before TLS.
 */
import { randomBytes } from "node:crypto";
import { endpoint, row, type CheckContext } from "../context";
import { describeError, TimeoutError } from "../errors";
import { LineSession } from "../lineSession";
import { DIALECTS, type Dialect } from "../mailbox";
import type { MailboxService, Row } from "../types";
import { certificateFacts, certificateRows, certificateUsable, inspectOnly } from "./certificate";
import { checkLegacyTls } from "./tlsVersions";

/** `cleartextPort`: where the protocol's cleartext port is looked at (the standard one unless a test moves it). */
export async function checkMailbox(ctx: CheckContext, service: MailboxService, port: number, cleartextPort = DIALECTS[service].cleartextPort): Promise<Row[]> {
  const dialect = DIALECTS[service];
  const first = await implicitTls(ctx, dialect, port);
  if (!first.tls) return [...first.rows, await cleartextRefusesLogin(ctx, dialect, cleartextPort)];
  return [
    ...first.rows,
    ...(await checkLegacyTls(ctx, port, false)),
    ...(await login(ctx, dialect, port, certificateUsable(first.rows))),
    await cleartextRefusesLogin(ctx, dialect, cleartextPort),
  ];
}

async function implicitTls(ctx: CheckContext, d: Dialect, port: number): Promise<{ rows: Row[]; tls: boolean }> {
  let s: LineSession | undefined;
  try {
    s = await LineSession.open(endpoint(ctx, port), inspectOnly(ctx));
    const greeting = await s.line("greeting");
    if (!d.greeting.test(greeting)) return { rows: [row(ctx, port, "implicit-tls", "FAIL", `not an ${d.protocol} greeting: ${greeting.slice(0, 80)}`)], tls: false };
    const socket = s.tlsSocket;
    if (!socket) throw new Error("internal error: implicit TLS session without a TLS socket");
    const rows = [row(ctx, port, "implicit-tls", "PASS", `${socket.getProtocol()} ${socket.getCipher().name}, ${d.protocol} greeting`)];
    rows.push(...certificateRows(ctx, port, certificateFacts(socket, ctx.target.hostname)));
    const offered = d.loginsOffered(await d.capabilities(s));
    rows.push(offered.length > 0
      ? row(ctx, port, "login-offered", "PASS", offered.join(" "))
      : row(ctx, port, "login-offered", "FAIL", `no login offered inside TLS: ${d.protocol} clients cannot log in`));
    return { rows, tls: true };
  } catch (e) {
    return { rows: [row(ctx, port, "implicit-tls", "FAIL", describeError(e))], tls: false };
  } finally {
    s?.close();
  }
}

/** With a test account: SASL PLAIN inside TLS succeeds, sent only to a certificate a client would accept. */
async function login(ctx: CheckContext, d: Dialect, port: number, usable: boolean): Promise<Row[]> {
  const creds = ctx.options.credentials;
  if (!creds) return [];
  if (!usable) return [row(ctx, port, "login", "SKIP", "not tried: a client would refuse this certificate, so the password is not sent")];
  let s: LineSession | undefined;
  try {
    s = await LineSession.open(endpoint(ctx, port), { ca: ctx.trust.ca, rejectUnauthorized: true });
    await s.line("greeting");
    const reply = await d.loginPlain(s, creds);
    return [row(ctx, port, "login", reply.ok ? "PASS" : "FAIL", `${creds.user}: ${reply.ok ? "logged in (SASL PLAIN)" : reply.line}`)];
  } catch (e) {
    return [row(ctx, port, "login", "FAIL", `${creds.user}: ${describeError(e)}`)];
  } finally {
    s?.close();
  }
}

/**
 * The cleartext port of the protocol: closed or filtered passes; if a server answers (ours never listens there,
 * the host's own may), it must offer no login and refuse one (RFC 8314 §4.1, RFC 9051 LOGINDISABLED).
 */
async function cleartextRefusesLogin(ctx: CheckContext, d: Dialect, port: number): Promise<Row> {
  const check = "no-login-before-tls";
  let s: LineSession;
  try {
    s = await LineSession.open(endpoint(ctx, port));
  } catch (e) {
    const why = e instanceof TimeoutError ? "no answer (filtered)" : describeError(e);
    return row(ctx, port, check, "PASS", `nothing to log in to in clear: ${why}`);
  }
  try {
    const greeting = await s.line("greeting");
    if (!d.greeting.test(greeting)) return row(ctx, port, check, "PASS", `not ${d.protocol} in clear: ${greeting.slice(0, 80)}`);
    const offered = d.loginsOffered(await d.capabilities(s));
    if (offered.length > 0) return row(ctx, port, check, "FAIL", `${d.protocol} in clear offers ${offered.join(" ")} before TLS`);
    const attempt = await d.cleartextLogin(s, "verify.mail-submission.invalid", randomBytes(12).toString("hex"));
    if (attempt.ok || attempt.checkedPassword) return row(ctx, port, check, "FAIL", `a login in clear was ${attempt.ok ? "accepted" : "checked against the password"}: ${attempt.line}`);
    return row(ctx, port, check, "PASS", `${d.protocol} answers in clear, offers no login and refused one: ${attempt.line}`);
  } catch (e) {
    return row(ctx, port, check, "WARN", `inconclusive: ${describeError(e)}`);
  } finally {
    s.close();
  }
}
