/**
 * A real mail client, curl, reading a mailbox as a mail user would: IMAP with implicit TLS on 993 or STARTTLS on
 * 143, POP3 with implicit TLS on 995. The password goes in a netrc file only this process reads, never on curl's
 * command line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface MailboxRead {
  /** curl's exit status: 0 read, 67 login refused, 7 connection refused. */
  code: number;
  /** The first message of INBOX, as the server sent it. */
  message: string;
  error: string;
}

export type MailboxPort = 143 | 993 | 995;

/** The first message of INBOX on each port, in curl's URL syntax. */
const URLS: Record<MailboxPort, (host: string) => string> = {
  143: (h) => `imap://${h}:143/INBOX;MAILINDEX=1`,
  993: (h) => `imaps://${h}:993/INBOX;MAILINDEX=1`,
  995: (h) => `pop3s://${h}:995/1`,
};

/**
 * Reads INBOX's first message from `address` (from `opts.localAddress`, when given). `trust` is "operator's" to accept the host's own (snakeoil)
 * certificate, or the PEM to trust and the name the certificate must carry, which curl then checks.
 */
export function mailboxRead(
  address: string,
  port: MailboxPort,
  user: string,
  password: string,
  trust: "operator's" | { ca: string; hostname: string },
  opts: { localAddress?: string } = {},
): Promise<MailboxRead> {
  const dir = mkdtempSync(join(tmpdir(), "ms-mailbox-"));
  const host = trust === "operator's" ? address : trust.hostname;
  writeFileSync(join(dir, "netrc"), `machine ${host} login ${user} password ${password}\n`, { mode: 0o600 });
  const tls =
    trust === "operator's"
      ? ["--insecure"]
      : (writeFileSync(join(dir, "ca.pem"), trust.ca), ["--cacert", join(dir, "ca.pem"), "--resolve", `${host}:${port}:${address}`]);
  const args = ["--silent", "--show-error", "--max-time", "20", "--netrc-file", join(dir, "netrc"), ...tls, ...(port === 143 ? ["--ssl-reqd"] : []), ...(opts.localAddress ? ["--interface", opts.localAddress] : []), "--url", URLS[port](host)];
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, message: stdout, error: stderr.trim() });
    });
  });
}
