/**
 * Where our submission services listen, as the host scripts decide it (postfix/listen.sh, check.sh), run by bash
 * with stand-ins for postconf, ss and ip that answer as a host shaped that way would.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { checkBundle } from "../../components/check/step";
import { parseHost } from "../../components/config/parse";
import { hostFile, programText } from "../../components/host/program";
import { postfixStepBundle } from "../../components/postfix/step";
import { validHost } from "./fixtures";

/** Runs `body` as the apply of a program made of `files`, after `stubs`, on the given bundle; returns its results. */
function run(files: string[], stubs: string, body: string, bundle: string): string {
  const script = ["take_lock() { :; }", ...files.map(hostFile), stubs, `apply() { { ${body}; } >>"$SCRATCH/stdout"; }`].join("\n");
  const program = `${programText({ name: "check", files: [] })}\n${script}\nmain apply <<'EOF'\n${bundle}EOF\n`;
  const r = spawnSync("bash", ["-s"], { input: program, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  expect(r.stderr).toBe("");
  return r.stdout;
}

const host = parseHost(validHost());

describe("our services' master.cf entries, per address family", () => {
  const families = (protocols: string) =>
    run(["postfix/listen.sh"], `postconf() { echo '${protocols}'; }`, "section services | for_this_host | cut -d= -f1", postfixStepBundle(host));

  it("keeps both families where main.cf's inet_protocols allows them, and only those", () => {
    // KERNEL_IPV6 exists on this machine, as on any host with IPv6.
    expect(families("all")).toBe("0.0.0.0:465/inet\n[::]:465/inet\n0.0.0.0:587/inet\n[::]:587/inet\nmsub-cleanup/unix\n");
    expect(families("ipv4")).toBe("0.0.0.0:465/inet\n0.0.0.0:587/inet\nmsub-cleanup/unix\n");
    expect(families("ipv6")).toBe("[::]:465/inet\n[::]:587/inet\nmsub-cleanup/unix\n");
    expect(families("ipv4, ipv6")).toBe(families("all"));
  });

  it("finds the operator's entries on our ports, by number or /etc/services name and on any address, and not ours", () => {
    const master = [
      "smtp inet n - y - - smtpd",
      "submission inet n - y - - smtpd -o syslog_name=postfix/submission",
      "127.0.0.1:smtps inet n - y - - smtpd",
      "[::1]:465 inet n - y - - smtpd",
      "2525 inet n - y - - smtpd",
      "0.0.0.0:587 inet n - n - - smtpd",
      "pickup unix n - y 60 1 pickup",
    ];
    const stub = `postconf() { printf '%s\\n' ${master.map((l) => `'${l}'`).join(" ")}; }`;
    const out = run(["postfix/listen.sh"], stub, 'rival_entries /x "0.0.0.0:587/inet [::]:587/inet"', postfixStepBundle(host));
    expect(out).toBe("submission/inet\n127.0.0.1:smtps/inet\n[::1]:465/inet\n");
  });
});

describe("the check step's reachability read", () => {
  const reachable = (listening: string[], addresses: string[]) =>
    run(
      ["host/probes.sh", "postfix/listen.sh", "check/check.sh"],
      [
        `ss() { printf '%s\\n' ${listening.map((l) => `'LISTEN 0 100 ${l} 0.0.0.0:*'`).join(" ")} | awk -v p="\${2##*:}" '$4 ~ ":" p "$"'; }`,
        `ip() { printf '%s\\n' ${addresses.map((a) => `'2: eth0    ${a.includes(":") ? "inet6" : "inet"} ${a}/64 scope global eth0'`).join(" ")}; }`,
      ].join("\n"),
      "check_reachable",
      checkBundle(host, "ab"),
    );

  it("passes wildcard listeners of each family", () => {
    expect(reachable(["0.0.0.0:465", "[::]:465", "0.0.0.0:587", "[::]:587"], ["192.0.2.10", "2001:db8::10"])).toBe("");
  });

  it("fails a port bound to loopback only, or missing a family, naming the port and the address", () => {
    expect(reachable(["127.0.0.1:465", "0.0.0.0:587"], ["192.0.2.10", "2001:db8::10"]).trim().split("\n")).toEqual([
      "465: nothing listens on the host's address 192.0.2.10: clients connecting there are refused (see main.cf's inet_interfaces and inet_protocols)",
      "465: nothing listens on the host's address 2001:db8::10: clients connecting there are refused (see main.cf's inet_interfaces and inet_protocols)",
      "587: nothing listens on the host's address 2001:db8::10: clients connecting there are refused (see main.cf's inet_interfaces and inet_protocols)",
    ]);
  });

  it("passes a listener on exactly that address", () => {
    expect(reachable(["192.0.2.10:465", "192.0.2.10:587"], ["192.0.2.10"])).toBe("");
  });
});

describe("the signer after the operator's milters (postfix/listen.sh with_main_milters)", () => {
  const dkimHost = parseHost({ ...validHost(), dkim: { enabled: true, ed25519: true } });
  const milters = (mainValue: string) =>
    run(["postfix/listen.sh"], `postconf() { echo '${mainValue}'; }`, "section params | grep '^0.0.0.0:465/inet/smtpd_milters=' | with_main_milters", postfixStepBundle(dkimHost));
  const ours = "unix:/var/spool/postfix/mail-submission-opendkim/rsa.sock,unix:/var/spool/postfix/mail-submission-opendkim/ed25519.sock";

  it("keeps main.cf's own milters first, as the operator wrote them, and adds only ours", () => {
    expect(milters("inet:127.0.0.1:11332, $spam_milter")).toBe(`0.0.0.0:465/inet/smtpd_milters=inet:127.0.0.1:11332, $spam_milter,${ours}\n`);
  });

  it("names ours alone where main.cf has none", () => {
    expect(milters("")).toBe(`0.0.0.0:465/inet/smtpd_milters=${ours}\n`);
  });
});
