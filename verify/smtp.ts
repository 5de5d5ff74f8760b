/**
 * Pure helpers for raw SMTP conversations (the verify checks' and the e2e harness's): reply parsing (RFC 5321
 * section 4.2), what an EHLO reply advertises, enhanced status codes, and the DATA block of a message. No I/O here,
 * so every rule is unit-tested on its own.
 */
import { StringDecoder } from "node:string_decoder";

/** One reply, possibly multi-line: `lines` are the texts after "250-" / "250 ". */
export interface Reply {
  code: number;
  lines: string[];
}

const LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/;

/** Feed it socket chunks, get back every reply they complete. Throws on a line that is not an SMTP reply. */
export class ReplyParser {
  // A UTF-8 character may be split across two TCP chunks (SMTPUTF8 servers); the decoder keeps the half.
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private pending: Reply | undefined;

  push(chunk: Buffer | string): Reply[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const done: Reply[] = [];
    let eol: number;
    while ((eol = this.buffer.indexOf("\n")) >= 0) {
      // RFC 5321 says CRLF; a bare LF is accepted so a sloppy server gets a verdict rather than a parse error.
      const line = this.buffer.slice(0, eol).replace(/\r$/, "");
      this.buffer = this.buffer.slice(eol + 1);
      const m = LINE.exec(line);
      if (!m) throw new Error(`not an SMTP reply: ${JSON.stringify(line.slice(0, 120))}`);
      const code = Number(m[1]);
      if (this.pending && this.pending.code !== code) throw new Error(`multi-line reply changed its code from ${this.pending.code} to ${code}`);
      this.pending ??= { code, lines: [] };
      this.pending.lines.push(m[3] ?? "");
      if (m[2] !== "-") {
        done.push(this.pending);
        this.pending = undefined;
      }
    }
    return done;
  }

  /** True while part of a reply is buffered: data a server sent after its STARTTLS 220, which must not be trusted. */
  get hasPartial(): boolean {
    return this.buffer.length > 0 || this.pending !== undefined;
  }
}

/** The extensions an EHLO reply advertises, upper-cased, one per line after the greeting line ("AUTH PLAIN LOGIN"). */
export function capabilities(ehlo: Reply): string[] {
  return ehlo.code === 250 ? ehlo.lines.slice(1).map((l) => l.trim().toUpperCase()) : [];
}

function extension(caps: readonly string[], keyword: string): string | undefined {
  const k = keyword.toUpperCase();
  // "AUTH=PLAIN LOGIN" is the pre-RFC 4954 spelling some clients still look for; it offers AUTH just the same.
  return caps.find((c) => c.split(/[\s=]/)[0] === k);
}

export function hasExtension(caps: readonly string[], keyword: string): boolean {
  return extension(caps, keyword) !== undefined;
}

/** The SASL mechanisms of every AUTH line (both "AUTH ..." and "AUTH=..."), sorted and without duplicates. */
export function authMechanisms(caps: readonly string[]): string[] {
  const mechs = caps.filter((c) => /^AUTH[\s=]/.test(c) || c === "AUTH").flatMap((c) => c.split(/[\s=]+/).slice(1));
  return [...new Set(mechs.filter((m) => m !== ""))].sort();
}

/** A refusal is any 4xx (try later) or 5xx (never) reply: either way the server did not go along. */
export function isRefusal(reply: Reply): boolean {
  return reply.code >= 400;
}

/** "530 5.7.0 Must issue a STARTTLS command first", on one line and short enough for a table cell. */
export function describeReply(reply: Reply): string {
  const text = `${reply.code} ${reply.lines.join(" / ")}`.trim();
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** A reply's text without its code: its lines joined by "\n". */
export function replyText(reply: Reply): string {
  return reply.lines.join("\n");
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/** The RFC 3463 status ("5.7.1") that starts a reply's first line, if it has one. */
export function enhancedStatus(reply: Reply): string | undefined {
  const m = ENHANCED.exec(reply.lines[0] ?? "");
  // RFC 2034 section 4: the status class must equal the reply's first digit; otherwise it is just text.
  return m && m[1] === String(reply.code)[0] ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

/**
 * A message as it goes on the wire after DATA's 354: CRLF line endings, a leading "." doubled on every line
 * (RFC 5321 section 4.5.2 transparency), and the terminating "." line.
 */
export function dataBlock(message: string): string {
  let body = message.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
  if (body.length > 0 && !body.endsWith("\r\n")) body += "\r\n";
  return `${body}.\r\n`;
}
