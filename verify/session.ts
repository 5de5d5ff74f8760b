/**
 * A raw SMTP session over node:net / node:tls, for what a full client library cannot express: reading what a
 * server advertises before STARTTLS, trying MAIL FROM in clear, stopping a relay attempt at RCPT (never reaching
 * DATA), and STARTTLS handshakes pinned to one protocol version. The e2e harness talks to its hosts through it too,
 * so it also speaks AUTH PLAIN / LOGIN and submits messages, handing back every reply as the server gave it.
 * Every wait is bounded by the timeout. Commands are never echoed into errors (AUTH lines hold credentials): the
 * steps are named instead.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { TimeoutError } from "./errors";
import { ReplyParser, capabilities, dataBlock, describeReply, type Reply } from "./smtp";

export interface Endpoint {
  address: string;
  port: number;
  /** Name sent as SNI and checked against the certificate (when the caller asks node to check). */
  hostname: string;
  timeoutMs: number;
  /** The client's source address (default: the system's choice); another one is another client to the server. */
  localAddress?: string;
}

/** What a TLS session negotiated and what the client made of the server's certificate. */
export interface TlsInfo {
  protocol: string | null;
  cipher: string;
  authorized: boolean;
  /** OpenSSL's verify code ("DEPTH_ZERO_SELF_SIGNED_CERT") when the chain does not verify. */
  authorizationError?: string;
  peerCertificate: tls.PeerCertificate;
  /** SHA-256 of the certificate, lower-case hex without colons (as the stack's certificateSha256). */
  sha256: string;
}

/** The replies of one mail transaction; it stops at the first step the server refuses. */
export interface Transaction {
  mail: Reply;
  rcpt: Reply[];
  data?: Reply;
  /** The reply to the message itself (250 "queued as ..."). */
  end?: Reply;
}

/** SNI may not carry an IP address (RFC 6066 section 3), and node warns when asked to. */
export function sniFor(hostname: string): { servername?: string } {
  return net.isIP(hostname) ? {} : { servername: hostname };
}

/** A TCP connection to the endpoint, or with `implicitTls` a TLS one; connecting has only begun on return. */
export function connect(ep: Endpoint): net.Socket;
export function connect(ep: Endpoint, implicitTls: tls.ConnectionOptions): tls.TLSSocket;
export function connect(ep: Endpoint, implicitTls?: tls.ConnectionOptions): net.Socket;
export function connect(ep: Endpoint, implicitTls?: tls.ConnectionOptions): net.Socket {
  // tls.connect's options cannot name a source address: with one, TLS goes over a TCP socket opened from it.
  const tcp = (): net.Socket => net.connect({ host: ep.address, port: ep.port, localAddress: ep.localAddress });
  if (!implicitTls) return tcp();
  const to = ep.localAddress === undefined ? { host: ep.address, port: ep.port } : { socket: tcp() };
  return tls.connect({ ...to, ...sniFor(ep.hostname), ...implicitTls });
}

/** Resolves when `event` fires; rejects on error, close or after `ms`. The socket is destroyed on failure. */
export function waitFor(sock: net.Socket, event: "connect" | "secureConnect", step: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      sock.off(event, onOk).off("error", onError).off("close", onClose);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve();
    };
    const onOk = (): void => finish();
    const onError = (e: Error): void => finish(e);
    const onClose = (): void => finish(Object.assign(new Error(`${step}: connection closed by the server`), { code: "ECONNRESET" }));
    const timer = setTimeout(() => finish(new TimeoutError(step, ms)), ms);
    sock.once(event, onOk).once("error", onError).once("close", onClose);
  });
}

export class RawSession {
  greeting!: Reply;
  private socket: net.Socket;
  private readonly parser = new ReplyParser();
  private readonly queue: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private last: Reply | undefined;

  private constructor(socket: net.Socket, private readonly ep: Endpoint) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects (with implicit TLS when `implicitTls` is given) and reads the greeting. */
  static async open(ep: Endpoint, implicitTls?: tls.ConnectionOptions): Promise<RawSession> {
    const sock = connect(ep, implicitTls);
    // Listeners go on before the connection completes so that no early byte of the greeting is lost.
    const session = new RawSession(sock, ep);
    const step = implicitTls ? `TLS connect to ${ep.address}:${ep.port}` : `connect to ${ep.address}:${ep.port}`;
    try {
      await waitFor(sock, implicitTls ? "secureConnect" : "connect", step, ep.timeoutMs);
      session.greeting = await session.read("greeting");
    } catch (e) {
      session.close();
      throw e;
    }
    if (session.greeting.code !== 220) {
      session.close();
      throw new Error(`greeting was not 220: ${describeReply(session.greeting)}`);
    }
    return session;
  }

  /** EHLO, returning the advertised extensions; anything but 250 is an error. */
  async ehlo(name = "verify.mail-submission.invalid"): Promise<string[]> {
    const reply = await this.command(`EHLO ${name}`, "EHLO");
    if (reply.code !== 250) throw new Error(`EHLO refused: ${describeReply(reply)}`);
    return capabilities(reply);
  }

  /** Sends one line (no CR/LF inside) and reads one reply. `step` names it in errors instead of the line. */
  command(line: string, step: string): Promise<Reply> {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error(`${step}: command contains CR or LF`));
    const reply = this.read(step); // wait first, so a fast reply cannot arrive with nobody listening
    if (!this.failure) this.socket.write(`${line}\r\n`);
    return reply;
  }

  /**
   * STARTTLS, then a TLS handshake with `options` on the same socket. Returns the 220's refusal instead when the
   * server does not say 220; throws when the handshake fails (the caller decides what that means).
   */
  async startTls(options: tls.ConnectionOptions): Promise<Reply> {
    const reply = await this.command("STARTTLS", "STARTTLS");
    if (reply.code !== 220) return reply;
    // Bytes already received after the 220 came in clear and would be taken as coming from inside TLS
    // (the CVE-2011-0411 injection), so a server that sends them is refused.
    if (this.queue.length > 0 || this.parser.hasPartial) {
      const injected = new Error("server sent data after its STARTTLS 220, before the TLS handshake");
      this.close(injected);
      throw injected;
    }
    const raw = this.socket;
    raw.off("data", this.onData).off("error", this.onError).off("close", this.onClose);
    // The TLS socket reports the raw socket's failures from now on; this keeps a late error on the raw one (a reset
    // while it is torn down) from being an unhandled 'error' event that would end the process.
    raw.on("error", () => undefined);
    const secure = tls.connect({ socket: raw, ...sniFor(this.ep.hostname), ...options });
    this.socket = secure;
    this.attach(secure);
    await waitFor(secure, "secureConnect", "STARTTLS handshake", this.ep.timeoutMs);
    return reply;
  }

  /** The TLS socket once TLS is up (implicit or after STARTTLS). */
  get tlsSocket(): tls.TLSSocket | undefined {
    return this.socket instanceof tls.TLSSocket ? this.socket : undefined;
  }

  tlsInfo(): TlsInfo {
    const s = this.tlsSocket;
    if (!s) throw new Error("the session is not using TLS");
    const peerCertificate = s.getPeerCertificate();
    // authorizationError is typed as Error, but node sets it to OpenSSL's code ("CERT_HAS_EXPIRED").
    const authorizationError = s.authorizationError ? { authorizationError: String(s.authorizationError) } : {};
    return {
      protocol: s.getProtocol(), cipher: s.getCipher().name, authorized: s.authorized, ...authorizationError,
      peerCertificate, sha256: peerCertificate.fingerprint256.replaceAll(":", "").toLowerCase(),
    };
  }

  /** The last reply the server sent (whether or not anybody read it), for telling why a session went wrong. */
  get lastReply(): Reply | undefined {
    return this.last;
  }

  authPlain(user: string, password: string): Promise<Reply> {
    const token = Buffer.from(`\0${user}\0${password}`, "utf8").toString("base64");
    return this.command(`AUTH PLAIN ${token}`, "AUTH PLAIN");
  }

  async authLogin(user: string, password: string): Promise<Reply> {
    const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
    const first = await this.command("AUTH LOGIN", "AUTH LOGIN");
    if (first.code !== 334) return first;
    const second = await this.command(b64(user), "AUTH LOGIN username");
    if (second.code !== 334) return second;
    return this.command(b64(password), "AUTH LOGIN password");
  }

  /** MAIL FROM, RCPT TO for each recipient, DATA and the message (see dataBlock), as far as the server lets it. */
  async sendMail(m: { from: string; to: string[]; data: string }): Promise<Transaction> {
    const mail = await this.command(`MAIL FROM:<${m.from}>`, "MAIL FROM");
    const rcpt: Reply[] = [];
    if (mail.code !== 250) return { mail, rcpt };
    for (const to of m.to) rcpt.push(await this.command(`RCPT TO:<${to}>`, "RCPT TO"));
    // 251 "user not local; will forward" is an acceptance too (RFC 5321 section 3.4).
    if (!rcpt.some((r) => r.code === 250 || r.code === 251)) return { mail, rcpt };
    const data = await this.command("DATA", "DATA");
    if (data.code !== 354) return { mail, rcpt, data };
    const end = this.read("end of DATA");
    if (!this.failure) this.socket.write(dataBlock(m.data));
    return { mail, rcpt, data, end: await end };
  }

  /**
   * After DATA's 354: writes `bytes` exactly as given (no line-ending conversion, no dot-stuffing) and reads the reply
   * to the end of data, which `bytes` must contain. For probing how a server reads line endings (SMTP smuggling).
   */
  async writeDataAsIs(bytes: string): Promise<Reply> {
    const end = this.read("end of DATA");
    if (!this.failure) this.socket.write(bytes);
    return end;
  }

  /** QUIT politely; a server that already hung up changes nothing, so errors are ignored. */
  async quit(): Promise<void> {
    if (!this.failure) await this.command("QUIT", "QUIT").catch(() => undefined);
    this.close();
  }

  /** Ends the session; later reads fail with `reason`, and replies nobody read are dropped (see startTls). */
  close(reason = new Error("session closed")): void {
    this.fail(reason);
    this.queue.length = 0;
    this.socket.destroy();
  }

  private read(step: string): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(new Error(`${step}: ${this.failure.message}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError(step, this.ep.timeoutMs));
        this.close(); // a late reply would answer the next command: the session is useless now
      }, this.ep.timeoutMs);
      this.waiter = {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(Object.assign(new Error(`${step}: ${e.message}`), { code: (e as NodeJS.ErrnoException).code }))),
      };
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private attach(sock: net.Socket): void {
    sock.on("data", this.onData).on("error", this.onError).on("close", this.onClose);
  }

  // Arrow properties, so that exactly these listeners can be removed at the STARTTLS upgrade.
  private readonly onData = (chunk: Buffer): void => {
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
      return;
    }
    for (const r of replies) {
      this.last = r;
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(r);
      else this.queue.push(r);
    }
  };
  private readonly onError = (e: Error): void => this.fail(e);
  private readonly onClose = (): void => this.fail(Object.assign(new Error("connection closed by the server"), { code: "ECONNRESET" }));
}
