/**
 * Abuse resistance on Debian 12 (an operator's nftables ruleset that drops by default) and Debian 13 (ufw), through
 * `pulumi up` of a production stack that leaves bans and sending limits at their production default (on): a login
 * over its hourly limit gets a 4xx and nothing through while another login sends; a login's recipients are capped;
 * after the window the login sends again; a limiter that does not answer defers, or permits when so configured; an
 * address guessing passwords on SMTP or IMAP is banned from every mail port (never from SSH) for the configured
 * time, longer the next time, while other addresses log in; a limiter step killed mid-way is finished by the next
 * up; destroy leaves no limiter, jail or ban rule. The two hosts boot and run each case side by side.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fail2banPaths, FAIL2BAN_UNIT_NAME, HOST_PATHS, NFT_BAN_TABLE, ratelimitPaths, RATELIMIT_KINDS } from "../../components/host/contract";
import { EngineStack } from "../harness/engine";
import { hold, killStep, reached, release, stepsDone } from "../harness/interrupt";
import { mailboxRead } from "../harness/mailbox";
import { makePki } from "../harness/pki";
import { hostRoot, openSecured, tcpState, type Submission } from "../harness/probes";
import { downHost, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, BOB, HOSTNAME, hostEntry, tlsFor, type HostSpec } from "../harness/scenario";
import { replyText, type Reply } from "../../verify/smtp";

/** Further source addresses on the sandbox bridge: other clients, as far as a host can tell. */
const SECOND_CLIENT = "10.231.0.249";
const IMAP_GUESSER = "10.231.0.248";
const BAN_SECONDS = 70;
/** bans.maxFailures's default, which the stack keeps: the e2e measures the guesses a default jail lets through. */
const MAX_FAILURES = 5;

interface Site {
  release: Release;
  sb: SandboxHost;
  stack: EngineStack;
}

const pki = makePki();
const FIREWALLS: Record<Release, "nftables-drop" | "ufw"> = { bookworm: "nftables-drop", trixie: "ufw" };

/** Small limits and a short ban, so that a test reaches them; bans and limits themselves are left to the production default. */
function spec(whenLimiterDown: "defer" | "permit" = "defer", messagesPerHour = 3): HostSpec {
  return {
    certificate: { mode: "provided", ...pki.issue(HOSTNAME) },
    users: [ALICE, BOB],
    extra: {
      services: { imaps: true },
      dkim: { enabled: false },
      limits: { messagesPerHour, recipientsPerDay: 1000, perLogin: { [BOB.name]: { messagesPerHour: 100, recipientsPerDay: 5 } }, whenLimiterDown },
      bans: { banTimeSeconds: BAN_SECONDS },
    },
  };
}

const productionConfig = (sb: SandboxHost, s: HostSpec) => {
  const { host, secrets } = hostEntry(sb, s);
  return { config: { production: true, hosts: [host] }, secrets };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const at = (site: Site, port: 465 | 587, localAddress?: string): Submission => ({ host: site.sb.address, port, tls: tlsFor(pki), localAddress, timeoutMs: 30_000 });

interface Sent {
  /** Recipients accepted for delivery: those the server took once the message was accepted. */
  accepted: number;
  replies: Reply[];
}

/** One message from `user` to `recipients` addresses; nothing is retried. */
async function send(site: Site, user: { name: string; password: string }, recipients: number, localAddress?: string): Promise<Sent> {
  const session = await openSecured(at(site, 587, localAddress));
  try {
    const auth = await session.authPlain(user.name, user.password);
    if (auth.code !== 235) throw new Error(`${site.release}: ${user.name} could not log in: ${replyText(auth)}`);
    const to = Array.from({ length: recipients }, (_, i) => `rcpt${i}@example.net`);
    const sent = await session.sendMail({ from: user.name, to, data: `From: <${user.name}>\r\nSubject: limits\r\n\r\ncounted\r\n` });
    const replies = [sent.mail, ...sent.rcpt, ...(sent.data ? [sent.data] : []), ...(sent.end ? [sent.end] : [])];
    return { accepted: sent.end?.code === 250 ? sent.rcpt.filter((r) => r.code === 250).length : 0, replies };
  } finally {
    await session.quit();
  }
}

const deferredFor = (s: Sent, text: RegExp) => s.replies.some((r) => r.code === 450 && text.test(replyText(r)));

/**
 * The hour passes for `login`'s message counts: its rows in the messages database move an hour and a minute back
 * (a count of this very second, moved back by exactly an hour, would still be inside the window).
 */
async function ageCounts(site: Site, login: string): Promise<void> {
  const db = ratelimitPaths.db("messages");
  await hostRoot(site.sb, `python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE mail_count SET date = date - 3660 WHERE id = ?", (sys.argv[2],)); c.commit()' ${db} ${login}`);
}

/** Wrong passwords over SMTP AUTH from this machine's own address until the server stops answering; returns how many got a 535. */
async function guessSmtp(site: Site): Promise<number> {
  let wrong = 0;
  for (let guess = 0; guess < 20; guess++) {
    let session;
    try {
      session = await openSecured(at(site, guess % 2 === 0 ? 587 : 465));
    } catch {
      return wrong;
    }
    try {
      if ((await session.authPlain(ALICE.name, `guess-${guess}`)).code === 535) wrong++;
    } catch {
      return wrong;
    } finally {
      session.close();
    }
  }
  return wrong;
}

/** fail2ban-client's `banip --with-time` line of a ban: `ADDRESS \tSTART + SECONDS = END`. */
const banLasting = (address: string, seconds: number) => new RegExp(`^${address.replaceAll(".", "\\.")}\\s.* \\+ ${seconds} = `, "m");

const fail2ban = (site: Site, args: string) => hostRoot(site.sb, `${fail2banPaths.client} -c ${HOST_PATHS.FAIL2BAN_DIR} ${args}`);

describe("abuse resistance on Debian 12 and 13, through pulumi up of a production stack", () => {
  let sites: Site[] = [];
  const each = <T>(f: (site: Site) => Promise<T>): Promise<T[]> => Promise.all(sites.map(f));
  let machine = "";

  beforeAll(async () => {
    sites = await Promise.all(
      (["bookworm", "trixie"] as Release[]).map(async (release) => {
        const sb = await upHost(`e2e-abuse-${release}`, { release, firewall: FIREWALLS[release] });
        const { config, secrets } = productionConfig(sb, spec());
        const stack = await EngineStack.create(`e2e-abuse-${release}`, config, secrets);
        await stack.up();
        return { release, sb, stack };
      }),
    );
    for (const a of [SECOND_CLIENT, IMAP_GUESSER]) execFileSync("ip", ["addr", "replace", `${a}/24`, "dev", "msbr0"]);
    machine = (await hostRoot((sites[0] as Site).sb, "echo ${SSH_CLIENT%% *}")).trim();
  }, 900_000);

  afterAll(async () => {
    for (const a of [SECOND_CLIENT, IMAP_GUESSER]) spawnSync("ip", ["addr", "del", `${a}/24`, "dev", "msbr0"], { stdio: "ignore" });
    await Promise.all(sites.map(async (s) => { await s.stack.remove(); await downHost(s.sb.name); }));
  }, 600_000);

  it("a login past its hourly limit gets a 4xx and nothing through, another login sends meanwhile, and after the hour it sends again", async () => {
    await each(async (site) => {
      for (let i = 0; i < 3; i++) expect((await send(site, ALICE, 1)).accepted, `${site.release}: message ${i + 1}`).toBe(1);
      const [over, other] = await Promise.all([send(site, ALICE, 1), send(site, BOB, 1, SECOND_CLIENT)]);
      expect(over.accepted, site.release).toBe(0);
      expect(deferredFor(over, /Sending limit reached: this login has sent its messages for this hour/), `${site.release}: ${JSON.stringify(over.replies)}`).toBe(true);
      expect(other.accepted, site.release).toBe(1);
      // The refusal is in the journal, for monitoring (and fail2ban) to act on.
      expect(await hostRoot(site.sb, "journalctl --no-pager -o cat -t postfix/submission/smtpd | grep -c 'Sending limit reached' || true")).not.toBe("0\n");
      await ageCounts(site, ALICE.name);
      expect((await send(site, ALICE, 1)).accepted, `${site.release}: after the hour`).toBe(1);
    });
  }, 300_000);

  it("a login's recipients are capped by its own limit", async () => {
    await each(async (site) => {
      // Debian 13 refuses the whole message at DATA; Debian 12 counts at RCPT and takes the first five.
      const sent = await send(site, BOB, 7);
      expect(sent.accepted, site.release).toBeLessThanOrEqual(5);
      expect(deferredFor(sent, /Sending limit reached: this login has reached its recipients for today/), `${site.release}: ${JSON.stringify(sent.replies)}`).toBe(true);
    });
  }, 300_000);

  it("the ratelimit step killed on the host after writing its files: the next up restarts the limiters on them", async () => {
    await each(async (site) => {
      const { config, secrets } = productionConfig(site.sb, spec("defer", 4));
      await site.stack.configure(config, secrets);
      await hold(site.sb, "ratelimit-written");
      const run = site.stack.upFailing();
      await reached(site.sb, "ratelimit-written");
      await killStep(site.sb);
      await release(site.sb, "ratelimit-written");
      expect((await run).ok, site.release).toBe(false);
      await stepsDone(site.sb);
      await site.stack.up();
      // Each limiter runs since after its file was written, and nothing is left pending.
      const started = RATELIMIT_KINDS.map(
        (k) => `[ "$(date -d "$(systemctl show -p ActiveEnterTimestamp --value ${ratelimitPaths.unit(k)})" +%s)" -ge "$(stat -c %Y ${ratelimitPaths.conf(k)})" ] && echo ok || echo stale`,
      );
      expect(await hostRoot(site.sb, started.join("; ")), site.release).toBe("ok\nok\n");
      expect(await hostRoot(site.sb, `ls ${HOST_PATHS.STATE_DIR}/*-pending 2>/dev/null || true`), site.release).toBe("");
    });
  }, 300_000);

  it("an address guessing SMTP passwords is banned from every mail port but not from SSH, past anvil's minute, while others log in; the ban ends and the next one is longer", async () => {
    await each(async (site) => {
      try {
        await smtpBans(site);
      } finally {
        // Whatever happened, the cases after this one connect from this address.
        await liftBan(site);
      }
    });
  }, 400_000);

  async function smtpBans(site: Site): Promise<void> {
    const wrong = await guessSmtp(site);
    const bannedAt = Date.now();
    // The guess under way when the ban came is still found, and counted, after it.
    await sleep(3000);
    console.log(`${site.release}: ${wrong} wrong passwords answered before the ban (maxFailures ${MAX_FAILURES})`);
    expect(wrong).toBeGreaterThanOrEqual(MAX_FAILURES);
    expect(wrong).toBeLessThanOrEqual(MAX_FAILURES + 1);
    for (const port of [465, 587, 993]) expect(await tcpState(site.sb.address, port), `${site.release}: ${port}`).toBe("closed");
    // hostRoot is SSH from the banned address itself.
    expect(await fail2ban(site, `get ${fail2banPaths.jailName} banip --with-time`)).toMatch(banLasting(machine, BAN_SECONDS));
    const other = await openSecured(at(site, 587, SECOND_CLIENT));
    expect((await other.authPlain(ALICE.name, ALICE.password)).code, site.release).toBe(235);
    await other.quit();
    await sleep(bannedAt + 61_000 - Date.now());
    expect(await tcpState(site.sb.address, 587), `${site.release}: after anvil's minute`).toBe("closed");
    await sleep(bannedAt + (BAN_SECONDS + 4) * 1000 - Date.now());
    expect(await tcpState(site.sb.address, 587), `${site.release}: after the ban`).toBe("open");
    const back = await openSecured(at(site, 465));
    expect((await back.authPlain(ALICE.name, ALICE.password)).code, site.release).toBe(235);
    await back.quit();
    // A repeat offender: fail2ban counts its failures double (banned sooner), and the second ban lasts twice as
    // long. Lifted by hand, for the cases after this one.
    const again = await guessSmtp(site);
    await sleep(3000);
    console.log(`${site.release}: ${again} wrong passwords answered before the second ban`);
    expect(again).toBeGreaterThanOrEqual(1);
    expect(again).toBeLessThanOrEqual(MAX_FAILURES);
    expect(await fail2ban(site, `get ${fail2banPaths.jailName} banip --with-time`)).toMatch(banLasting(machine, 2 * BAN_SECONDS));
    await liftBan(site);
    expect(await tcpState(site.sb.address, 587), site.release).toBe("open");
  }

  /**
   * Lifts the ban on this machine's address until its mail ports answer again: a guess that was under way when the
   * ban came is found after it and bans again (fail2ban queues it), so one unban can be undone a moment later.
   */
  async function liftBan(site: Site): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await fail2ban(site, `unban ${machine} || true`);
      await sleep(1000);
      if ((await tcpState(site.sb.address, 587)) === "open" && (await tcpState(site.sb.address, 587)) === "open") return;
    }
  }

  it("an address guessing IMAP passwords is banned too, and stays banned when the operator reloads nftables", async () => {
    await each(async (site) => {
      const trust = { ca: pki.caCertPem, hostname: HOSTNAME };
      const codes: number[] = [];
      for (let i = 0; i < MAX_FAILURES + 2 && codes.at(-1) !== 7; i++) codes.push((await mailboxRead(site.sb.address, 993, ALICE.name, `guess-${i}`, trust, { localAddress: IMAP_GUESSER })).code);
      // curl: 67 is a refused login, 7 a refused connection.
      expect(codes.slice(0, MAX_FAILURES), site.release).toEqual(Array(MAX_FAILURES).fill(67));
      expect(codes.at(-1), `${site.release}: ${codes.join(",")}`).toBe(7);
      expect(await fail2ban(site, `status ${fail2banPaths.jailName}`)).toContain(IMAP_GUESSER);
      if (FIREWALLS[site.release] === "nftables-drop") {
        // The operator reloads their ruleset (`flush ruleset` first): our table and the bans that still run come back.
        await hostRoot(site.sb, "systemctl reload nftables");
        let set = "";
        for (let i = 0; i < 20 && !set.includes(IMAP_GUESSER); i++) {
          await sleep(500);
          set = await hostRoot(site.sb, `nft list set inet ${NFT_BAN_TABLE} v4 2>/dev/null || true`);
        }
        expect(set, "after the operator's reload").toContain(IMAP_GUESSER);
      }
      await fail2ban(site, `set ${fail2banPaths.jailName} unbanip ${IMAP_GUESSER}`);
    });
  }, 300_000);

  it("a limiter that does not answer defers mail, or lets it through when whenLimiterDown is permit", async () => {
    const stop = (site: Site) => hostRoot(site.sb, `systemctl stop ${RATELIMIT_KINDS.map(ratelimitPaths.unit).join(" ")}`);
    await each(async (site) => {
      const state = await tcpState(site.sb.address, 587);
      if (state !== "open") throw new Error(`${site.release}: 587 is ${state} before the case: ${await hostRoot(site.sb, `journalctl -u ${FAIL2BAN_UNIT_NAME} -n 40 --no-pager -o cat; ufw status || true; nft list table inet ${NFT_BAN_TABLE} || true`)}`);
      await stop(site);
      const down = await send(site, BOB, 1);
      expect(down.accepted, site.release).toBe(0);
      expect(down.replies.some((r) => r.code >= 400 && r.code < 500), `${site.release}: ${JSON.stringify(down.replies)}`).toBe(true);
      const { config, secrets } = productionConfig(site.sb, spec("permit"));
      await site.stack.configure(config, secrets);
      await site.stack.up();
      await stop(site);
      expect((await send(site, BOB, 1)).accepted, `${site.release}: permit`).toBe(1);
    });
  }, 400_000);

  it("destroy leaves no limiter, jail, ban rule or database", async () => {
    await each(async (site) => {
      // What a jail that died without lifting its bans leaves in ufw: destroy takes it out by its comment.
      if (site.release === "trixie") await hostRoot(site.sb, `ufw prepend reject from 192.0.2.9 to any port 465 proto tcp comment '${FAIL2BAN_UNIT_NAME}' >/dev/null`);
      await site.stack.destroy();
      const units = await hostRoot(site.sb, `systemctl list-units --all --plain --no-legend '${ratelimitPaths.unit("messages").split("@")[0]}*' '${FAIL2BAN_UNIT_NAME}*' | wc -l`);
      expect(units, site.release).toBe("0\n");
      const left = [HOST_PATHS.RATELIMIT_DIR, HOST_PATHS.RATELIMIT_DB_DIR, HOST_PATHS.RATELIMIT_SOCKET_DIR, HOST_PATHS.FAIL2BAN_DIR, HOST_PATHS.FAIL2BAN_STATE_DIR, HOST_PATHS.FAIL2BAN_UNIT, HOST_PATHS.RATELIMIT_UNIT];
      expect(await hostRoot(site.sb, `ls -d ${left.join(" ")} 2>/dev/null | wc -l`), site.release).toBe("0\n");
      expect(await hostRoot(site.sb, `nft list table inet ${NFT_BAN_TABLE} >/dev/null 2>&1 && echo present || echo absent`), site.release).toBe("absent\n");
      if (site.release === "trixie") expect(await hostRoot(site.sb, "ufw status | grep -c REJECT || true"), site.release).toBe("0\n");
    });
  }, 300_000);
});
