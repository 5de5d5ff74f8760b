/**
 * Can this client offer TLS 1.0 / 1.1 at all? OpenSSL 3 refuses to even try them at its default security level,
 * and some builds leave them out, and a server "refusing" a version the client never offered proves nothing. So
 * the probe lowers the level, and before trusting a refusal, shakes hands with itself on loopback at that version.
 * The loopback server uses a pre-shared key because node:crypto cannot make it a certificate.
 */
import { randomBytes } from "node:crypto";
import * as tls from "node:tls";

export type LegacyVersion = "TLSv1" | "TLSv1.1";

/** The probe's cipher list: OpenSSL's defaults with the security level that still permits TLS < 1.2. */
export const PROBE_CIPHERS = "DEFAULT@SECLEVEL=0";
/** The same, plus the PSK suites of the loopback self-test. */
const SELF_TEST_CIPHERS = "DEFAULT:PSK@SECLEVEL=0";

const cache = new Map<LegacyVersion, Promise<string | undefined>>();

/** undefined when a handshake at `version` works locally; otherwise why it does not. Runs once per version. */
export function clientCannotOffer(version: LegacyVersion, timeoutMs: number): Promise<string | undefined> {
  let result = cache.get(version);
  if (!result) {
    result = selfHandshake(version, timeoutMs);
    cache.set(version, result);
  }
  return result;
}

function selfHandshake(version: LegacyVersion, timeoutMs: number): Promise<string | undefined> {
  const psk = randomBytes(32);
  const ciphers = SELF_TEST_CIPHERS;
  return new Promise((resolve) => {
    const server = tls.createServer({ pskCallback: () => psk, ciphers, minVersion: version, maxVersion: version }, (s) => s.end());
    server.on("tlsClientError", () => undefined); // the client's side reports the failure
    const finish = (why: string | undefined): void => {
      clearTimeout(timer);
      server.close();
      resolve(why);
    };
    const timer = setTimeout(() => finish(`no loopback handshake at ${version} within ${timeoutMs / 1000} s`), timeoutMs);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      const client = tls.connect({
        host: "127.0.0.1", port, ciphers, minVersion: version, maxVersion: version,
        pskCallback: () => ({ psk, identity: "verify" }),
        checkServerIdentity: () => undefined, // no certificate in a PSK handshake
      });
      client.once("secureConnect", () => {
        const ok = client.getProtocol() === version;
        client.destroy();
        finish(ok ? undefined : `loopback handshake negotiated ${client.getProtocol()} instead of ${version}`);
      });
      client.once("error", (e) => finish(`this client cannot speak ${version}: ${e.message.split("\n")[0]}`));
    });
  });
}
