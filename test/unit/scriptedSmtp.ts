/**
 * Loopback stand-ins for a mail server, for the SMTP client's unit tests: a throwaway certificate for localhost, and
 * a scripted Postfix look-alike. Every server started through `listen` is closed by `closeServers`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";

const dir = mkdtempSync(join(tmpdir(), "smtp-test-"));
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
  "-addext", "subjectAltName=DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1"], { stdio: "ignore" });
export const KEY = readFileSync(join(dir, "key.pem"), "utf8");
export const CERT = readFileSync(join(dir, "cert.pem"), "utf8");
rmSync(dir, { recursive: true, force: true });

const servers: net.Server[] = [];

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
}

/** Starts `server` on an ephemeral port of 127.0.0.1 and returns the port; closeServers closes it. */
export async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** What the scripted server saw, for assertions. */
export type Seen = { authPlain?: string; authLogin: string[]; bodies: string[] };

/**
 * A scripted Postfix look-alike: STARTTLS, AUTH only after TLS, 530 for MAIL before TLS, relay denied for any
 * recipient outside local.test. Replies are written in awkward chunks to exercise the client's buffering.
 */
export function scriptedServer(seen: Seen): net.Server {
  return net.createServer((raw) => {
    let sock: net.Socket = raw;
    let secure = false;
    let buf = "";
    let inData = false;
    let body = "";
    let login: string[] | undefined;
    const send = (s: string): boolean => sock.write(s);
    const onLine = (line: string): void => {
      if (inData) {
        if (line === ".") {
          inData = false;
          seen.bodies.push(body);
          body = "";
          send("250 2.0.0 Ok: queued as 4XyZ1\r\n");
        } else body += `${line}\r\n`;
        return;
      }
      if (login) {
        login.push(Buffer.from(line, "base64").toString());
        if (login.length === 1) send("334 UGFzc3dvcmQ6\r\n");
        else {
          seen.authLogin = login;
          login = undefined;
          send("535 5.7.8 Error: authentication failed\r\n");
        }
        return;
      }
      const [verb, ...rest] = line.split(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          send(`250-mail.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n${secure ? "250-AUTH PLAIN LOGIN\r\n" : "250-STARTTLS\r\n"}250 8BITMIME\r\n`);
          break;
        case "STARTTLS":
          send("220 2.0.0 Ready to start TLS\r\n");
          raw.removeAllListeners("data");
          sock = new tls.TLSSocket(raw, { isServer: true, secureContext: tls.createSecureContext({ key: KEY, cert: CERT }) });
          sock.on("data", onData);
          secure = true;
          break;
        case "AUTH":
          if (rest[0] === "PLAIN") {
            seen.authPlain = Buffer.from(rest[1], "base64").toString();
            send("235 2.7.0 Authentication successful\r\n");
          } else {
            login = [];
            send("334 VXNlcm5hbWU6\r\n");
          }
          break;
        case "MAIL":
          send(secure ? "250 2.1.0 Ok\r\n" : "530 5.7.0 Must issue a STARTTLS command first\r\n");
          break;
        case "RCPT":
          send(/@local\.test>$/.test(line) ? "250 2.1.5 Ok\r\n" : "554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n");
          break;
        case "DATA":
          inData = true;
          send("354 End data with <CR><LF>.<CR><LF>\r\n");
          break;
        case "QUIT":
          sock.end("221 2.0.0 Bye\r\n");
          break;
        default:
          send("502 5.5.2 Error: command not recognized\r\n");
      }
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        onLine(line);
      }
    };
    raw.on("data", onData);
    raw.on("error", () => undefined); // the client may reset the connection; that is not this test's concern
    // The greeting in two writes a tick apart, so the client must buffer a partial line.
    raw.write("220 mail.test ESM");
    setTimeout(() => raw.write("TP test\r\n"), 20);
  });
}
