/**
 * With a test account: AUTH PLAIN and AUTH LOGIN succeed on the port, and with --send a message is accepted (250).
 * This is the conversation a mail client has, so it goes through nodemailer's SMTPConnection: certificate checked
 * (the password is never sent to a server whose certificate a client would refuse), STARTTLS required on 587.
 */
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { randomUUID } from "node:crypto";
import { row, type CheckContext } from "../context";
import { describeError, TimeoutError } from "../errors";
import { sniFor } from "../session";
import type { Credentials, Row } from "../types";

const MECHANISMS = ["PLAIN", "LOGIN"] as const;

/** nodemailer errors carry the server's reply; that (never the command, which may hold credentials) is the detail. */
function explain(e: unknown): string {
  const reply = (e as { response?: unknown }).response;
  return typeof reply === "string" && reply !== "" ? reply : describeError(e);
}

function open(ctx: CheckContext, port: number, implicitTls: boolean): SMTPConnection {
  const ms = ctx.options.timeoutMs;
  const sni = sniFor(ctx.target.hostname);
  const conn = new SMTPConnection({
    host: ctx.target.address, port, secure: implicitTls, requireTLS: !implicitTls, ...sni,
    name: "verify.mail-submission.invalid",
    connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms, dnsTimeout: ms, socketCloseTimeout: 0,
    logger: false, debug: false,
    tls: { ca: ctx.trust.ca, rejectUnauthorized: true, ...sni },
  });
  conn.on("error", () => undefined); // errors also reach the pending callback, which is where they are reported
  return conn;
}

/** Runs one callback-style nodemailer call, bounded by the timeout even if nodemailer's own timers do not fire. */
function step<T>(conn: SMTPConnection, name: string, ms: number, call: (done: (err?: Error | null, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.close();
      reject(new TimeoutError(name, ms));
    }, ms);
    call((err, value) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    });
  });
}

function message(ctx: CheckContext, port: number, from: string, to: string): string {
  return [
    `From: <${from}>`, `To: <${to}>`, `Subject: mail-submission verify: ${ctx.target.hostname} port ${port}`,
    `Date: ${ctx.now.toUTCString()}`, `Message-ID: <${randomUUID()}@verify.mail-submission.invalid>`, "",
    `Sent by mail-submission-verify to check that ${ctx.target.hostname}:${port} accepts authenticated mail.`, "",
  ].join("\r\n");
}

/** The SKIP row of --send when no message could be tried; nothing at all without --send. */
function notSent(ctx: CheckContext, port: number, why: string): Row[] {
  return ctx.options.send ? [row(ctx, port, "send", "SKIP", `not tried: ${why}`)] : [];
}

async function attempt(ctx: CheckContext, port: number, implicitTls: boolean, creds: Credentials, method: string, send: boolean): Promise<Row[]> {
  const ms = ctx.options.timeoutMs;
  const conn = open(ctx, port, implicitTls);
  const check = `auth-${method.toLowerCase()}`;
  try {
    await step<void>(conn, "connect", ms, (done) => conn.connect((err) => done(err)));
    try {
      await step<boolean>(conn, `AUTH ${method}`, ms, (done) => conn.login({ user: creds.user, pass: creds.password, method }, done));
    } catch (e) {
      return [row(ctx, port, check, "FAIL", `${creds.user}: ${explain(e)}`), ...(send ? notSent(ctx, port, "AUTH failed") : [])];
    }
    const rows = [row(ctx, port, check, "PASS", `${creds.user} authenticated`)];
    const to = ctx.options.send;
    if (send && to) {
      try {
        const info = await step<SMTPConnection.SentMessageInfo>(conn, "send", ms, (done) => conn.send({ from: to.from, to: [to.to] }, message(ctx, port, to.from, to.to), done));
        rows.push(row(ctx, port, "send", "PASS", `${to.from} -> ${to.to}: ${info?.response ?? "accepted"}`));
      } catch (e) {
        rows.push(row(ctx, port, "send", "FAIL", `${to.from} -> ${to.to}: ${explain(e)}`));
      }
    }
    return rows;
  } catch (e) {
    return [row(ctx, port, check, "FAIL", `could not get to AUTH: ${explain(e)}`), ...(send ? notSent(ctx, port, "no AUTH") : [])];
  } finally {
    conn.quit();
    conn.close();
  }
}

export async function checkAuth(ctx: CheckContext, port: number, implicitTls: boolean, certificateUsable: boolean): Promise<Row[]> {
  const creds = ctx.options.credentials;
  if (!creds) return [];
  if (!certificateUsable) {
    const why = "not tried: a client would refuse this certificate, so the password is not sent";
    return [...MECHANISMS.map((m) => row(ctx, port, `auth-${m.toLowerCase()}`, "SKIP", why)), ...notSent(ctx, port, "a client would refuse this certificate")];
  }
  const rows: Row[] = [];
  // The message goes with the first mechanism only: one test message per port is enough.
  for (const [i, method] of MECHANISMS.entries()) rows.push(...(await attempt(ctx, port, implicitTls, creds, method, i === 0)));
  return rows;
}
