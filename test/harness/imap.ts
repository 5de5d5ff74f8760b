/**
 * A real IMAP client, curl, reading a mailbox as a mail user would: implicit TLS on 993, STARTTLS on 143. The
 * password goes in a netrc file only this process reads, never on curl's command line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ImapRead {
  /** curl's exit status: 0 read, 67 login refused, 7 connection refused. */
  code: number;
  /** The first message of INBOX, as the server sent it. */
  message: string;
  error: string;
}

/** Reads INBOX's first message. `ca` is the PEM to trust, or "operator's" to accept the host's own (snakeoil) one. */
export function imapRead(host: string, port: 143 | 993, user: string, password: string, ca: string | "operator's"): Promise<ImapRead> {
  const dir = mkdtempSync(join(tmpdir(), "ms-imap-"));
  writeFileSync(join(dir, "netrc"), `machine ${host} login ${user} password ${password}\n`, { mode: 0o600 });
  const trust = ca === "operator's" ? ["--insecure"] : (writeFileSync(join(dir, "ca.pem"), ca), ["--cacert", join(dir, "ca.pem")]);
  const url = `${port === 993 ? "imaps" : "imap"}://${host}:${port}/INBOX;MAILINDEX=1`;
  const args = ["--silent", "--show-error", "--max-time", "20", "--netrc-file", join(dir, "netrc"), ...trust, ...(port === 143 ? ["--ssl-reqd"] : []), "--url", url];
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, message: stdout, error: stderr.trim() });
    });
  });
}
