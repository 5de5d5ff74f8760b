/**
 * A line-oriented session for IMAP (RFC 9051) and POP3 (RFC 1939), in clear or over implicit TLS: enough to read the
 * greeting, ask what the server offers, and try a login, each wait bounded by the timeout. Like the SMTP session,
 * it never echoes a command into an error (a login line holds credentials): the caller names the step.
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { TimeoutError } from "./errors";
import { connect, waitFor, type Endpoint } from "./session";

export class LineSession {
  private buffer = "";
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(readonly socket: net.Socket, private readonly ep: Endpoint) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let at: number;
      while ((at = this.buffer.indexOf("\n")) >= 0) {
        this.lines.push(this.buffer.slice(0, at).replace(/\r$/, ""));
        this.buffer = this.buffer.slice(at + 1);
      }
      this.wake?.();
    });
    const fail = (e: Error): void => {
      this.failure ??= e;
      this.wake?.();
    };
    socket.on("error", fail);
    socket.on("close", () => fail(Object.assign(new Error("connection closed by the server"), { code: "ECONNRESET" })));
  }

  /** Connects, in clear or with `implicitTls`; the greeting is the first line read. */
  static async open(ep: Endpoint, implicitTls?: tls.ConnectionOptions): Promise<LineSession> {
    const sock = connect(ep, implicitTls);
    const session = new LineSession(sock, ep);
    const step = implicitTls ? `TLS connect to ${ep.address}:${ep.port}` : `connect to ${ep.address}:${ep.port}`;
    await waitFor(sock, implicitTls ? "secureConnect" : "connect", step, ep.timeoutMs);
    return session;
  }

  get tlsSocket(): tls.TLSSocket | undefined {
    return "getPeerCertificate" in this.socket ? (this.socket as tls.TLSSocket) : undefined;
  }

  /** The next line from the server. */
  async line(step: string): Promise<string> {
    const deadline = Date.now() + this.ep.timeoutMs;
    for (;;) {
      const next = this.lines.shift();
      if (next !== undefined) return next;
      if (this.failure) throw Object.assign(new Error(`${step}: ${this.failure.message}`), { code: (this.failure as NodeJS.ErrnoException).code });
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(step, this.ep.timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Lines up to and including the first that `last` accepts. */
  async until(step: string, last: (line: string) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line(step);
      out.push(l);
      if (last(l)) return out;
    }
  }

  /** Sends one line (no CR/LF inside). */
  send(line: string, step: string): void {
    if (/[\r\n]/.test(line)) throw new Error(`${step}: command contains CR or LF`);
    this.socket.write(`${line}\r\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}
