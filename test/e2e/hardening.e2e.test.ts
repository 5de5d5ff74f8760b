/**
 * Hardening seen on a real host: a forged password hash never reaches Dovecot (and would have let anyone in), and
 * password guessing from one address is slowed, then refused, while other clients and, after the window, the
 * guesser's own correct login still work.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { hostRoot, openSecured, type Submission } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, BOB, HOSTNAME, reconfigure, sshLogins, stackFor, tlsFor, type HostSpec } from "../harness/scenario";
import { paths } from "../../components/host/contract";

/** A second source address on the sandbox bridge: another client, as far as the host can tell. */
const SECOND_CLIENT = "10.231.0.250";

/** A {SHA512-CRYPT} hash as an operator makes one, with OpenSSL's crypt(3) rather than the component's own code. */
const operatorHash = (password: string): string => `{SHA512-CRYPT}${execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: password, encoding: "utf8" }).trim()}`;

describe("hardening on Debian 12, through pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  const bobHash = operatorHash(BOB.password);
  const spec: HostSpec = { certificate: { mode: "provided", ...pki.issue(HOSTNAME) }, users: [ALICE, { ...BOB, passwordHash: bobHash }] };
  const at = (port: 465 | 587, localAddress?: string): Submission => ({ host: sb.address, port, tls: tlsFor(pki), localAddress, timeoutMs: 30_000 });
  const doveadm = async (user: string, password: string) => hostRoot(sb, `doveadm -c ${paths.dovecotConf} auth test '${user}' '${password}' 2>&1 || true`);

  beforeAll(async () => {
    sb = await upHost("e2e-hardening", { release: "bookworm" });
    stack = await stackFor("hardening", sb, spec);
    await stack.up();
    // replace, not add: an address left by a run that was killed would make `add` fail.
    execFileSync("ip", ["addr", "replace", `${SECOND_CLIENT}/24`, "dev", "msbr0"]);
  }, 600_000);

  afterAll(async () => {
    // Not there when beforeAll failed early: spawnSync, whose failure does not stop the clean-up below.
    spawnSync("ip", ["addr", "del", `${SECOND_CLIENT}/24`, "dev", "msbr0"], { stdio: "ignore" });
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it.each([
    ["a hash that turns off the password", "{SHA512-CRYPT}::::::nopassword=y", "anything at all", /auth succeeded/],
    ["a real hash that logs bob in as alice", `${bobHash}::::::user=${ALICE.name}`, BOB.password, new RegExp(`user=${ALICE.name}`)],
  ])("%s is refused before the host is touched, and Dovecot would have taken it", async (_what, forged, password, dangerous) => {
    const passwd = await hostRoot(sb, "sha256sum /etc/mail-submission/dovecot/users");
    await reconfigure(stack, sb, { ...spec, users: [ALICE, { ...BOB, passwordHash: forged }] });
    const start = Date.now();
    const r = await stack.upFailing();
    const end = Date.now();
    expect(r.ok).toBe(false);
    expect(r.output).toContain("hosts[0].users[1].passwordHash: is not a well-formed {SHA512-CRYPT} hash");
    expect(await sshLogins(sb, start, end)).toBe(0);
    expect(await hostRoot(sb, "sha256sum /etc/mail-submission/dovecot/users")).toBe(passwd);
    expect(await doveadm(BOB.name, password === BOB.password ? BOB.password : password)).not.toMatch(dangerous);

    // Negative control: the same line written into the passwd-file by hand is exactly the attack.
    const file = "/etc/mail-submission/dovecot/users";
    // Dovecot looks at a passwd-file's mtime and size at most once a second (passwd_file_sync in
    // db-passwd-file.c), so a lookup in the same second as the write could still see the old file.
    const pastDovecotsSync = () => new Promise((r) => setTimeout(r, 1100));
    await hostRoot(sb, `cp -p ${file} /root/passwd.saved && { grep -v '^${BOB.name}:' /root/passwd.saved; cat; } >${file}`, `${BOB.name}:${forged}\n`);
    await pastDovecotsSync();
    expect(await doveadm(BOB.name, password)).toMatch(dangerous);
    await hostRoot(sb, `cp -p /root/passwd.saved ${file}`);
    await pastDovecotsSync();
    expect(await doveadm(BOB.name, "anything at all")).toMatch(/auth failed/);
    await reconfigure(stack, sb, spec);
  }, 300_000);

  it("password guessing from one address is slowed, then refused; another client and, after the window, the right password still get in", async () => {
    const attempts: { code: number; ms: number; closed: boolean }[] = [];
    const started = Date.now();
    let guess = 0;
    // A guesser reconnects whenever the server hangs up, and tries a new password each time, for one minute.
    while (Date.now() - started < 60_000) {
      let s;
      try {
        s = await openSecured(at(587));
      } catch {
        attempts.push({ code: 0, ms: 0, closed: true });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      try {
        for (let i = 0; i < 20 && Date.now() - started < 60_000; i++) {
          const t = Date.now();
          const reply = await s.authPlain(ALICE.name, `guess-${guess++}`);
          attempts.push({ code: reply.code, ms: Date.now() - t, closed: false });
          if (reply.code < 500 || reply.code === 421) break;
        }
      } catch {
        attempts.push({ code: 0, ms: 0, closed: true });
      } finally {
        await s.quit();
      }
    }
    const wrong = attempts.filter((a) => a.code === 535);
    const refused = attempts.filter((a) => a.code !== 535);
    const slowest = Math.max(...wrong.map((a) => a.ms));
    console.log(`guessing for 60 s: ${attempts.length} attempts, ${wrong.length} answered 535 (slowest ${slowest} ms), ${refused.length} refused or cut off: ${JSON.stringify(refused.slice(0, 5))}`);
    // The default limits allow 10 AUTH commands per minute and address; Dovecot's delay grows with each failure.
    expect(wrong.length).toBeLessThanOrEqual(10);
    expect(refused.length).toBeGreaterThan(0);
    expect(slowest).toBeGreaterThanOrEqual(2000);

    // Another address is not affected.
    const other = await openSecured(at(587, SECOND_CLIENT));
    const t = Date.now();
    expect((await other.authPlain(ALICE.name, ALICE.password)).code).toBe(235);
    expect(Date.now() - t).toBeLessThan(5000);
    await other.quit();

    // Once the minute has passed, the guesser's address with the right password gets in again.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 65_000 - Date.now())));
    const back = await openSecured(at(465));
    expect((await back.authPlain(ALICE.name, ALICE.password)).code).toBe(235);
    await back.quit();
  }, 300_000);
});
