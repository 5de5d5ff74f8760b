/**
 * What the mailbox checks need of IMAP (RFC 9051) and POP3 (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH): the greeting,
 * what the server offers for logging in, a SASL PLAIN login, and a login attempt in clear that a server must refuse.
 * A dialect per protocol; the checks (checks/mailbox.ts) are the same for both.
 */
import type { LineSession } from "./lineSession";
import type { Credentials, MailboxService } from "./types";

export interface Reply {
  ok: boolean;
  /** The server's final line, for the report (never the command: it may hold credentials). */
  line: string;
}

export interface Dialect {
  protocol: "IMAP" | "POP3";
  /** The cleartext port of the same protocol, where a login must not be possible before TLS (RFC 8314 §4.1). */
  cleartextPort: number;
  greeting: RegExp;
  capabilities(s: LineSession): Promise<string[]>;
  /** The ways to log in that the capabilities offer, as "LOGIN", "USER" or "AUTH=PLAIN". */
  loginsOffered(capabilities: readonly string[]): string[];
  loginPlain(s: LineSession, c: Credentials): Promise<Reply>;
  /**
   * A login with a made-up account, in clear. Refused as "not without TLS" is right; refused as a wrong password
   * (the server checked it) or accepted is not.
   */
  cleartextLogin(s: LineSession, user: string, password: string): Promise<Reply & { checkedPassword: boolean }>;
}

const plain = (c: Credentials): string => Buffer.from(`\0${c.user}\0${c.password}`, "utf8").toString("base64");

/** IMAP: a tagged command, the untagged lines before its tagged completion. */
async function imapCommand(s: LineSession, tag: string, line: string, step: string): Promise<string[]> {
  s.send(`${tag} ${line}`, step);
  return s.until(step, (l) => l.startsWith(`${tag} `));
}

const imap: Dialect = {
  protocol: "IMAP",
  cleartextPort: 143,
  greeting: /^\* (OK|PREAUTH)\b/i,
  async capabilities(s) {
    const lines = await imapCommand(s, "v1", "CAPABILITY", "CAPABILITY");
    const cap = lines.find((l) => /^\* CAPABILITY /i.test(l));
    return cap ? cap.split(" ").slice(2).map((c) => c.toUpperCase()) : [];
  },
  loginsOffered(caps) {
    return [...(caps.includes("LOGINDISABLED") ? [] : ["LOGIN"]), ...caps.filter((c) => c.startsWith("AUTH="))];
  },
  async loginPlain(s, c) {
    s.send("v2 AUTHENTICATE PLAIN", "AUTHENTICATE PLAIN");
    const first = await s.line("AUTHENTICATE PLAIN");
    if (!first.startsWith("+")) return { ok: false, line: first };
    s.send(plain(c), "AUTHENTICATE PLAIN response");
    const last = (await s.until("AUTHENTICATE PLAIN", (l) => l.startsWith("v2 "))).at(-1) ?? "";
    return { ok: /^v2 OK\b/i.test(last), line: last };
  },
  async cleartextLogin(s, user, password) {
    const quote = (v: string) => `"${v.replace(/["\\]/g, "\\$&")}"`;
    const last = (await imapCommand(s, "v3", `LOGIN ${quote(user)} ${quote(password)}`, "LOGIN in clear")).at(-1) ?? "";
    return { ok: /^v3 OK\b/i.test(last), line: last, checkedPassword: /\[AUTHENTICATIONFAILED\]/i.test(last) };
  },
};

const pop3: Dialect = {
  protocol: "POP3",
  cleartextPort: 110,
  greeting: /^\+OK\b/,
  async capabilities(s) {
    s.send("CAPA", "CAPA");
    const first = await s.line("CAPA");
    if (!first.startsWith("+OK")) return [];
    return (await s.until("CAPA", (l) => l === ".")).slice(0, -1).map((c) => c.toUpperCase());
  },
  loginsOffered(caps) {
    const sasl = caps.find((c) => c === "SASL" || c.startsWith("SASL "));
    return [...(caps.includes("USER") ? ["USER"] : []), ...(sasl ?? "").split(" ").slice(1).filter((m) => m !== "").map((m) => `AUTH=${m}`)];
  },
  async loginPlain(s, c) {
    s.send("AUTH PLAIN", "AUTH PLAIN");
    const first = await s.line("AUTH PLAIN");
    if (!first.startsWith("+ ") && first !== "+") return { ok: false, line: first };
    s.send(plain(c), "AUTH PLAIN response");
    const last = await s.line("AUTH PLAIN");
    return { ok: last.startsWith("+OK"), line: last };
  },
  async cleartextLogin(s, user) {
    // USER alone is enough: a server that takes it in clear would take the PASS that follows.
    s.send(`USER ${user}`, "USER in clear");
    const last = await s.line("USER in clear");
    return { ok: last.startsWith("+OK"), line: last, checkedPassword: false };
  },
};

export const DIALECTS: Readonly<Record<MailboxService, Dialect>> = { imaps: imap, pop3s: pop3 };
