// A small SMTP client over node:net / node:tls for the e2e tests. Deliberately dependency-free and dumb: it
// sends exactly what it is told and hands back every reply verbatim, so tests can assert on the codes and
// texts a real Postfix gives (530 before STARTTLS, 554 5.7.1 relay denied, ...). It never logs what it sends:
// command lines may hold credentials, so error messages name the SMTP step, never the line.
import * as net from "node:net";
import { StringDecoder } from "node:string_decoder";
import * as tls from "node:tls";

/**
 * One (possibly multi-line) reply. `lines` is each line's text after "250-" / "250 ", `text` is them joined
 * with "\n", `enhanced` the RFC 3463 status ("5.7.1") of the first line when present (also left in the text).
 */
export type Reply = { code: number; enhanced?: string; lines: string[]; text: string };

export type TlsOptions = {
  servername?: string; ca?: string | Buffer; rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion; ciphers?: string;
};

export type TlsInfo = {
  protocol: string | null; cipher: string; authorized: boolean; authorizationError?: string;
  peerCertificate: tls.PeerCertificate; fingerprint256: string;
};

const DEFAULT_TIMEOUT_MS = 15_000;
const LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;
/** Verbs that may appear in error messages; anything else (e.g. a base64 AUTH LOGIN line) is not echoed. */
const VERBS = new Set(["EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", "BDAT", "ETRN"]);

/**
 * Incremental reply parser: feed it chunks as they come off the socket, get back every reply completed by
 * them. Keeps partial lines and unfinished multi-line replies between calls. Throws on a malformed line.
 */
export class ReplyParser {
  // A StringDecoder so that a UTF-8 character split across two TCP chunks is not mangled (SMTPUTF8 replies).
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private pending: { code: number; lines: string[] } | undefined;

  push(chunk: Buffer | string): Reply[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const replies: Reply[] = [];
    let eol: number;
    while ((eol = this.buffer.indexOf("\n")) >= 0) {
      // RFC 5321 says CRLF; a bare LF is tolerated so a sloppy test server doesn't produce confusing errors.
      const line = this.buffer.slice(0, eol).replace(/\r$/, "");
      this.buffer = this.buffer.slice(eol + 1);
      const m = LINE.exec(line);
      if (!m) throw new Error(`malformed SMTP reply line: ${JSON.stringify(line.slice(0, 200))}`);
      const code = Number(m[1]);
      if (this.pending && this.pending.code !== code) throw new Error(`SMTP multi-line reply changed code from ${this.pending.code} to ${code}`);
      this.pending ??= { code, lines: [] };
      this.pending.lines.push(m[3] ?? "");
      if (m[2] !== "-") {
        replies.push(makeReply(this.pending.code, this.pending.lines));
        this.pending = undefined;
      }
    }
    return replies;
  }

  /** True while part of a reply is buffered (used to refuse data injected before a STARTTLS upgrade). */
  get hasPartial(): boolean {
    return this.buffer.length > 0 || this.pending !== undefined;
  }
}

function makeReply(code: number, lines: string[]): Reply {
  const m = ENHANCED.exec(lines[0] ?? "");
  // RFC 2034 section 4: the status class must equal the reply's first digit; otherwise it is just text.
  const enhanced = m && m[1] === String(code)[0] ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
  return { code, ...(enhanced ? { enhanced } : {}), lines, text: lines.join("\n") };
}

function describeReply(r: Reply | undefined): string {
  return r ? `${r.code} ${r.lines.join(" / ")}`.slice(0, 300) : "none";
}

function tlsConnectOptions(host: string, t: TlsOptions): tls.ConnectionOptions {
  // Node warns when SNI is set to an IP address (RFC 6066 forbids it), so only default it to a host name.
  const servername = t.servername ?? (net.isIP(host) ? undefined : host);
  return { ...t, ...(servername ? { servername } : {}) };
}

/** Resolves when `okEvent` fires on `sock`; rejects on error, close or after `ms`, naming `step`. */
function waitForEvent(sock: net.Socket, okEvent: "connect" | "secureConnect", step: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.off(okEvent, onOk).off("error", onError).off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onOk = (): void => done();
    const onError = (e: Error): void => done(new Error(`SMTP ${step} failed: ${e.message}`));
    const onClose = (): void => done(new Error(`SMTP ${step} failed: connection closed`));
    const timer = setTimeout(() => {
      sock.destroy();
      done(new Error(`SMTP ${step} timed out after ${ms} ms`));
    }, ms);
    sock.once(okEvent, onOk).once("error", onError).once("close", onClose);
  });
}

type Waiter = { step: string; resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class SmtpSession {
  greeting!: Reply;
  private socket: net.Socket;
  private readonly parser = new ReplyParser();
  private readonly replies: Reply[] = [];
  private readonly waiters: Waiter[] = [];
  private lastReply: Reply | undefined;
  /** Set once the connection is unusable; later reads fail with this. */
  private failure: string | undefined;
  private caps: string[] = [];

  private constructor(socket: net.Socket, private readonly host: string, private readonly timeoutMs: number) {
    this.socket = socket;
    this.attach(socket);
  }

  /** `localAddress` picks the client's source address (a second client, as far as the server can tell). */
  static async connect(opts: { host: string; port: number; implicitTls?: boolean; tls?: TlsOptions; timeoutMs?: number; localAddress?: string }): Promise<SmtpSession> {
    const { host, port, localAddress } = opts;
    const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // tls.connect's options have no localAddress: with one, TLS goes over a TCP socket opened from that address.
    const tcp = () => net.connect({ host, port, localAddress });
    const sock = opts.implicitTls
      ? tls.connect({ ...(localAddress ? { socket: tcp() } : { host, port }), ...tlsConnectOptions(host, opts.tls ?? {}) })
      : tcp();
    // Listeners go on before the connect completes so that no early byte of the greeting can be missed.
    const session = new SmtpSession(sock, host, ms);
    try {
      await waitForEvent(sock, opts.implicitTls ? "secureConnect" : "connect", opts.implicitTls ? "TLS connect" : "connect", ms);
      session.greeting = await session.readReply("greeting");
    } catch (e) {
      session.close();
      throw e;
    }
    return session;
  }

  async ehlo(name = "client.test"): Promise<Reply> {
    const reply = await this.exchange(`EHLO ${name}`, "EHLO");
    // The first line is the server's name; each further line is one extension ("SIZE 10240000").
    this.caps = reply.code === 250 ? reply.lines.slice(1).map((l) => l.trim().toUpperCase()) : [];
    return reply;
  }

  capabilities(): string[] {
    return [...this.caps];
  }

  private capability(keyword: string): string | undefined {
    return this.caps.find((c) => c.split(/\s+/)[0] === keyword.toUpperCase());
  }

  /** Whether the last EHLO advertised `keyword` (case-insensitive, compared with each line's first word). */
  hasCapability(keyword: string): boolean {
    return this.capability(keyword) !== undefined;
  }

  authMechanisms(): string[] {
    return this.capability("AUTH")?.split(/\s+/).slice(1) ?? [];
  }

  /** Sends one command line and reads one reply. */
  command(line: string): Promise<Reply> {
    const verb = line.split(" ")[0].toUpperCase();
    return this.exchange(line, VERBS.has(verb) ? verb : "command");
  }

  async startTls(t: TlsOptions): Promise<Reply> {
    const reply = await this.exchange("STARTTLS", "STARTTLS");
    if (reply.code !== 220) return reply;
    // Anything already received after the 220 was sent in plaintext and must not be trusted as coming from
    // inside TLS (CVE-2011-0411-style command/response injection), so refuse rather than carry it over.
    if (this.replies.length > 0 || this.parser.hasPartial) {
      this.close("server sent data after its STARTTLS 220");
      throw new Error("SMTP STARTTLS: server sent data after 220 before the TLS handshake");
    }
    const raw = this.socket;
    raw.off("data", this.onData); // the TLS socket reads the raw bytes from now on
    const secure = tls.connect({ socket: raw, ...tlsConnectOptions(this.host, t) });
    this.socket = secure;
    this.attach(secure);
    this.caps = []; // RFC 3207: forget everything learnt before TLS; the caller must EHLO again
    await waitForEvent(secure, "secureConnect", "STARTTLS handshake", this.timeoutMs);
    return reply;
  }

  tlsInfo(): TlsInfo {
    if (!(this.socket instanceof tls.TLSSocket)) throw new Error("SMTP session is not using TLS");
    const s = this.socket;
    const peerCertificate = s.getPeerCertificate();
    // authorizationError is typed as Error, but Node sets it to OpenSSL's code ("DEPTH_ZERO_SELF_SIGNED_CERT").
    const authorizationError = s.authorizationError ? { authorizationError: String(s.authorizationError) } : {};
    return { protocol: s.getProtocol(), cipher: s.getCipher().name, authorized: s.authorized, ...authorizationError,
      peerCertificate, fingerprint256: peerCertificate.fingerprint256 };
  }

  authPlain(user: string, password: string): Promise<Reply> {
    const token = Buffer.from(`\0${user}\0${password}`, "utf8").toString("base64");
    return this.exchange(`AUTH PLAIN ${token}`, "AUTH PLAIN");
  }

  async authLogin(user: string, password: string): Promise<Reply> {
    const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
    const first = await this.exchange("AUTH LOGIN", "AUTH LOGIN");
    if (first.code !== 334) return first;
    const second = await this.exchange(b64(user), "AUTH LOGIN username");
    if (second.code !== 334) return second;
    return this.exchange(b64(password), "AUTH LOGIN password");
  }

  async sendMail(m: { from: string; to: string[]; data: string }): Promise<{ mail: Reply; rcpt: Reply[]; data?: Reply; end?: Reply }> {
    const mail = await this.exchange(`MAIL FROM:<${m.from}>`, "MAIL FROM");
    const rcpt: Reply[] = [];
    if (mail.code !== 250) return { mail, rcpt };
    for (const to of m.to) rcpt.push(await this.exchange(`RCPT TO:<${to}>`, "RCPT TO"));
    // 251 "user not local; will forward" is an acceptance too (RFC 5321 section 3.4).
    if (!rcpt.some((r) => r.code === 250 || r.code === 251)) return { mail, rcpt };
    const data = await this.exchange("DATA", "DATA");
    if (data.code !== 354) return { mail, rcpt, data };
    // CRLF line endings, then RFC 5321 section 4.5.2 transparency: double a leading "." on every line.
    let body = m.data.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    if (body.length > 0 && !body.endsWith("\r\n")) body += "\r\n";
    this.socket.write(`${body}.\r\n`);
    const end = await this.readReply("end of DATA");
    return { mail, rcpt, data, end };
  }

  /** Sends QUIT and waits for the reply; a server that already closed (or errors now) is fine. */
  async quit(): Promise<void> {
    // The goal is a closed session; a reset or a missing 221 changes nothing about that, hence the catch.
    if (!this.failure) await this.exchange("QUIT", "QUIT").catch(() => undefined);
    this.close();
  }

  close(reason = "session closed by client"): void {
    this.fail(reason);
    this.replies.length = 0; // unread replies must not answer a later command (see startTls)
    this.socket.destroy();
  }

  private exchange(line: string, step: string): Promise<Reply> {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error(`SMTP ${step}: command contains CR or LF`));
    // Register the waiter before writing, so a fast reply can't arrive with nobody listening for it.
    const reply = this.readReply(step);
    if (!this.failure) this.socket.write(`${line}\r\n`);
    return reply;
  }

  private readReply(step: string): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.error(step, this.failure));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(this.error(step, `timed out after ${this.timeoutMs} ms`));
        // A late reply would be paired with the next command; an out-of-sync session is useless, end it.
        this.close(`an earlier step (${step}) timed out`);
      }, this.timeoutMs);
      const waiter: Waiter = { step, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  private error(step: string, reason: string): Error {
    return new Error(`SMTP ${step}: ${reason} (last reply: ${describeReply(this.lastReply)})`);
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.error(w.step, reason));
    }
  }

  private attach(sock: net.Socket): void {
    sock.on("data", this.onData).on("error", this.onError).on("close", this.onClose);
  }

  // Arrow properties so that `off()` can remove exactly these listeners at the STARTTLS upgrade.
  private readonly onData = (chunk: Buffer): void => {
    let parsed: Reply[];
    try {
      parsed = this.parser.push(chunk);
    } catch (e) {
      return this.close((e as Error).message);
    }
    for (const r of parsed) {
      this.lastReply = r;
      const w = this.waiters.shift();
      if (!w) {
        this.replies.push(r); // nobody asked yet (e.g. the greeting before connect() reads it)
        continue;
      }
      clearTimeout(w.timer);
      w.resolve(r);
    }
  };
  private readonly onError = (e: Error): void => this.fail(`connection error: ${e.message}`);
  private readonly onClose = (): void => this.fail("connection closed by server");
}

/**
 * Does a TLS handshake with the given protocol range complete? For "the server refuses TLS 1.0/1.1" tests.
 * OpenSSL 3 won't even offer TLS < 1.2 at its default security level, so below 1.2 the cipher list defaults
 * to "DEFAULT@SECLEVEL=0": a refusal then really comes from the server, not from this client.
 */
export async function tryTlsHandshake(opts: {
  host: string; port: number; starttls?: boolean; minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion;
  ciphers?: string; servername?: string; timeoutMs?: number;
}): Promise<{ ok: true; protocol: string; cipher: string } | { ok: false; error: string }> {
  const { minVersion, maxVersion, servername } = opts;
  const legacy = maxVersion === "TLSv1" || maxVersion === "TLSv1.1";
  // rejectUnauthorized: false because only the protocol negotiation is under test here, not the certificate.
  const t: TlsOptions = { minVersion, maxVersion, servername, rejectUnauthorized: false,
    ciphers: opts.ciphers ?? (legacy ? "DEFAULT@SECLEVEL=0" : undefined) };
  const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    if (opts.starttls) {
      const s = await SmtpSession.connect({ host: opts.host, port: opts.port, timeoutMs: ms });
      try {
        await s.ehlo();
        const r = await s.startTls(t);
        if (r.code !== 220) return { ok: false, error: `STARTTLS refused: ${describeReply(r)}` };
        return { ok: true, protocol: s.tlsInfo().protocol ?? "unknown", cipher: s.tlsInfo().cipher };
      } finally {
        s.close();
      }
    }
    // Implicit TLS: only the handshake matters, so no SMTP greeting is awaited.
    const sock = tls.connect({ host: opts.host, port: opts.port, ...tlsConnectOptions(opts.host, t) });
    sock.on("error", () => undefined); // errors after the handshake verdict (e.g. a reset on destroy) are irrelevant
    try {
      await waitForEvent(sock, "secureConnect", "TLS handshake", ms);
      return { ok: true, protocol: sock.getProtocol() ?? "unknown", cipher: sock.getCipher().name };
    } finally {
      sock.destroy();
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
