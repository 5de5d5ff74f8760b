/** Client-side observations of a sandbox host, used by the e2e suites. */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Socket } from "node:net";
import type * as tls from "node:tls";
import { promisify } from "node:util";
import { tryTlsHandshake, type HandshakeResult } from "../../verify/handshake";
import { RawSession, type Endpoint } from "../../verify/session";
import { replyText, type Reply } from "../../verify/smtp";
import { sshExec, type SandboxHost } from "./sandbox";

const run = promisify(execFile);

/** Where the e2e suite keeps long reports (testssl.sh) that do not belong in the test output. */
export const E2E_LOGS = "/var/cache/mail-submission/logs/e2e";

/** "open" on a TCP handshake, "closed" on a refusal, "filtered" when nothing answers within the timeout. */
export function tcpState(host: string, port: number, timeoutMs = 2000): Promise<"open" | "closed" | "filtered"> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (state: "open" | "closed" | "filtered") => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done("filtered"));
    socket.once("connect", () => done("open"));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "closed" : "filtered"));
    socket.connect(port, host);
  });
}

/** Runs a bash command as root on the host (through sudo for a non-root login) and insists that it succeeds. */
export async function hostRoot(sb: SandboxHost, cmd: string, input?: string): Promise<string> {
  const line = `${sb.user === "root" ? "" : "sudo -n "}bash -c '${cmd.replaceAll("'", `'\\''`)}'`;
  const r = await sshExec(sb, line, { input });
  if (r.code !== 0) throw new Error(`on ${sb.name}: ${cmd} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Checksums of everything the product may touch but must give back: Postfix and Dovecot config, the ruleset. */
export async function configFingerprint(sb: SandboxHost): Promise<Record<string, string>> {
  const out = await hostRoot(
    sb,
    "find /etc/postfix /etc/dovecot /etc/systemd/system /usr/local/lib -type f -print0 | sort -z | xargs -0 sha256sum; " +
      "ls -d /etc/mail-submission /var/lib/mail-submission 2>/dev/null || true",
  );
  const lines = out.trim().split("\n").filter((l) => l !== "");
  return Object.fromEntries(lines.map((l) => (l.includes("  ") ? [l.split("  ")[1] ?? l, l.split("  ")[0] ?? ""] : [l, "present"])));
}

/** Per reply and handshake, unless a test says otherwise. */
const SMTP_TIMEOUT_MS = 15_000;

export interface SmtpOptions {
  /** Per reply and handshake (default 15 s). */
  timeoutMs?: number;
  /** The client's source address (default: the machine's address on the sandbox bridge). */
  localAddress?: string;
}

function endpoint(host: string, port: number, opts: SmtpOptions & { servername?: string }): Endpoint {
  return { address: host, port, hostname: opts.servername ?? host, timeoutMs: opts.timeoutMs ?? SMTP_TIMEOUT_MS, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) };
}

/**
 * An SMTP session with a host, through the verify tool's client: in clear (for STARTTLS), or with `implicitTls`
 * options from the first byte. It reads the greeting and fails unless it is a 220.
 */
export function openSession(host: string, port: number, implicitTls?: tls.ConnectionOptions, opts: SmtpOptions = {}): Promise<RawSession> {
  return RawSession.open(endpoint(host, port, { ...opts, servername: implicitTls?.servername }), implicitTls);
}

/** Whether a handshake pinned to `version` completes: implicit TLS on 465, after STARTTLS on 587. */
export function handshakeAt(host: string, port: 465 | 587, servername: string, version: tls.SecureVersion): Promise<HandshakeResult> {
  return tryTlsHandshake(endpoint(host, port, { servername }), { starttls: port === 587, minVersion: version, maxVersion: version });
}

export interface Submission extends SmtpOptions {
  host: string;
  port: 465 | 587;
  tls: tls.ConnectionOptions;
}

/** EHLO, STARTTLS on 587, EHLO again: a session ready for AUTH. */
export async function openSecured(s: Submission): Promise<RawSession> {
  const session = await openSession(s.host, s.port, s.port === 465 ? s.tls : undefined, s);
  try {
    await session.ehlo();
    if (s.port === 587) {
      const r = await session.startTls(s.tls);
      if (r.code !== 220) throw new Error(`STARTTLS refused: ${replyText(r)}`);
      await session.ehlo();
    }
  } catch (e) {
    session.close();
    throw e;
  }
  return session;
}

/** Authenticates with `mechanism` and submits one message; returns every reply. */
export async function submit(
  s: Submission,
  opts: { user: string; password: string; mechanism: "PLAIN" | "LOGIN"; from: string; to: string; subject: string },
): Promise<{ auth: Reply; end?: Reply; rcpt: Reply[] }> {
  const session = await openSecured(s);
  try {
    const auth = opts.mechanism === "PLAIN" ? await session.authPlain(opts.user, opts.password) : await session.authLogin(opts.user, opts.password);
    if (auth.code !== 235) return { auth, rcpt: [] };
    const data = `From: <${opts.from}>\r\nTo: <${opts.to}>\r\nSubject: ${opts.subject}\r\n\r\nsent by the mail-submission e2e suite\r\n`;
    const sent = await session.sendMail({ from: opts.from, to: [opts.to], data });
    return { auth, end: sent.end, rcpt: sent.rcpt };
  } finally {
    await session.quit();
  }
}

/** Whether a message with `subject` reached root's local mailbox on the host (waits for the queue). */
export async function delivered(sb: SandboxHost, subject: string, timeoutMs = 15_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const mbox = await hostRoot(sb, "cat /var/mail/root 2>/dev/null || true");
    const start = mbox.indexOf(`Subject: ${subject}`);
    if (start >= 0) return mbox.slice(mbox.lastIndexOf("\nFrom ", start) + 1, mbox.indexOf("\nFrom ", start) > 0 ? mbox.indexOf("\nFrom ", start) : undefined);
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** testssl.sh (Debian's package) on one port; returns its report and keeps it in a log file named by `label`. */
export async function testssl(address: string, hostname: string, port: number, starttls: boolean, label: string): Promise<string> {
  const args = ["--quiet", "--color", "0", "--warnings", "off", "-p", "-s", "-P", "--ip", address, ...(starttls ? ["-t", "smtp"] : []), `${hostname}:${port}`];
  const { stdout } = await run("testssl", args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  mkdirSync(E2E_LOGS, { recursive: true });
  writeFileSync(join(E2E_LOGS, `testssl-${label}.log`), stdout);
  return stdout;
}

/** The lines of a testssl.sh report that RFC 8314 §4.1 and our TLS policy require: old protocols and weak ciphers absent. */
export const TESTSSL_CLEAN: readonly RegExp[] = [
  /SSLv2\s+not offered/, /SSLv3\s+not offered/, /TLS 1\s+not offered/, /TLS 1\.1\s+not offered/, /TLS 1\.2\s+offered/,
  /NULL ciphers \(no encryption\)\s+not offered/, /Anonymous NULL Ciphers \(no authentication\)\s+not offered/, /Export ciphers.*not offered/,
  /LOW: 64 Bit \+ DES.*not offered/, /Triple DES Ciphers \/ IDEA\s+not offered/, /Has server cipher order\?\s+yes/,
];

/** Listening TCP sockets (address:port), sorted: what a host exposes. */
export async function listening(sb: SandboxHost): Promise<string[]> {
  const out = await hostRoot(sb, "ss -Htln | awk '{ print $4 }' | sort -u");
  return out.trim().split("\n").filter((l) => l !== "");
}

/** Postfix and Dovecot as an operator would have installed them before this product came along. */
export async function installMailPackages(sb: SandboxHost): Promise<void> {
  await hostRoot(
    sb,
    "printf 'postfix postfix/main_mailer_type select Internet Site\\npostfix postfix/mailname string mail.sandbox.test\\n' | debconf-set-selections && " +
      "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix dovecot-core >/dev/null 2>&1",
  );
}
