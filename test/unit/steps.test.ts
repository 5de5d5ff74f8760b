import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderBundle } from "../../components/host/bundle";
import { BUNDLE_DELIMITER } from "../../components/host/bundleFormat";
import { checkBundle } from "../../components/check/step";
import { firewallBundle } from "../../components/firewall/step";
import { contractVariables, HOST_PATHS, paths, TLS_FILES } from "../../components/host/contract";
import { programText, stepCommand, stepWarnings } from "../../components/host/program";
import { packagesBundle } from "../../components/packages/step";
import { postfixStepBundle } from "../../components/postfix/step";
import { STEPS, stepScript, stepStdin } from "../../components/steps";
import { validHost, withChange } from "./fixtures";

/**
 * Runs a step program with real bash exactly as the host gets it (`bash -s <action>` with the whole program on
 * stdin), but with a test script in place of the step's own: it prints what `main` hands it.
 */
function runProgram(script: string, bundle: string, action = "apply"): { stdout: string; stderr: string; status: number | null } {
  const program = stepStdin("check", bundle).replace(stepScript("check"), () => `${programText({ name: "check", files: [] })}\n${script}`);
  const r = spawnSync("bash", ["-s", action], { input: program, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
/** main() would take the host's lock in /run; tests run it unprivileged, so the lock goes to a temp file. */
const noLock = "take_lock() { :; }";

function readSection(bundle: string, name: string): string {
  return runProgram(`${noLock}\napply() { section "${name}" >>"$SCRATCH/stdout"; }`, bundle).stdout;
}

describe("step bundles", () => {
  it("round-trip through the host's section reader, byte for byte", () => {
    const pem = "-----BEGIN X-----\nAAAA\n-----END X-----\n";
    const bundle = renderBundle({ chain: pem, key: "k1\nk2", empty: "", list: ["a", "b c"] });
    expect(readSection(bundle, "chain")).toBe(pem);
    expect(readSection(bundle, "key")).toBe("k1\nk2\n");
    expect(readSection(bundle, "empty")).toBe("");
    expect(readSection(bundle, "list")).toBe("a\nb c\n");
    expect(readSection(bundle, "absent")).toBe("");
  });

  it("refuses content that would open a section of its own or end the here-document", () => {
    expect(() => renderBundle({ x: "a\n#@ y\n" })).toThrow(/section marker/);
    expect(() => renderBundle({ x: `a\n${BUNDLE_DELIMITER}\nrm -rf /\n` })).toThrow(/bundle delimiter/);
    expect(() => renderBundle({ "bad name": "" })).toThrow(/not allowed/);
    expect(() => renderBundle({ end: "" })).toThrow(/not allowed/);
  });

  it("data cut short is refused before anything runs, with the reason first", () => {
    const whole = renderBundle({ a: "1" });
    const r = runProgram(`${noLock}\napply() { result ran; }`, whole.replace("#@ end\n", ""));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toMatch(/^mail-submission check on \S+: the step's data arrived incomplete \(connection cut\?\); nothing was changed/);
  });

  it("install what the host needs: the firewall tool only when one is named", () => {
    const h = parseHost(validHost());
    expect(readSection(packagesBundle(h), "packages")).toBe("postfix\ndovecot-core\nopenssl\nca-certificates\n");
    const ufw = parseHost(withChange((x) => ((x.firewall = { backend: "ufw" }), (x.services = { imaps: true }))));
    expect(readSection(packagesBundle(ufw), "packages")).toContain("dovecot-imapd\nufw\n");
    const pop = parseHost(withChange((x) => (x.services = { imaps: true, pop3s: true })));
    expect(readSection(packagesBundle(pop), "packages")).toContain("dovecot-imapd\ndovecot-pop3d\n");
    // What a host's own Dovecot would start serving if we installed it: refused under a running one (packages.sh).
    expect(readSection(packagesBundle(h), "protocols")).toBe("dovecot-imapd\ndovecot-pop3d\n");
    expect(readSection(packagesBundle(h), "mailname")).toBe("mail.example.com\n");
    expect(readSection(packagesBundle(h), "ondestroy")).toBe("remove\n");
  });

  it("the check re-runs when any checked setting or the certificate changes", () => {
    const a = parseHost(validHost());
    const b = parseHost(withChange((x) => (x.tls = { profile: "modern" })));
    expect(checkBundle(a, "ab")).toBe(checkBundle(parseHost(validHost()), "ab"));
    expect(checkBundle(a, "ab")).not.toBe(checkBundle(b, "ab"));
    expect(checkBundle(a, "ab")).not.toBe(checkBundle(a, "cd"));
    expect(readSection(checkBundle(a, "ab"), "ports")).toBe("465\n587\n");
    expect(readSection(postfixStepBundle(a), "ports")).toBe("465\n587\n");
    expect(readSection(firewallBundle(a), "nft-sync")).toContain("input_chains()");
  });

  it("the check reads back every guarded setting the Postfix step sets", () => {
    const lines = readSection(checkBundle(parseHost(validHost()), "ab"), "postfix-guarantees").trim().split("\n");
    expect(lines).toContain("0.0.0.0:587/inet/smtpd_tls_security_level=encrypt|TLS before AUTH and MAIL (on 587 nothing but STARTTLS until TLS is up)");
    expect(lines).toContain("[::]:465/inet/smtpd_tls_wrappermode=yes|implicit TLS on 465 (RFC 8314 §3.3)");
    expect(lines).toContain("0.0.0.0:465/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject|no mail and no relaying without AUTH");
    expect(lines.some((l) => l.includes(":465/inet/syslog_name="))).toBe(false);
  });
});

describe("step programs", () => {
  it.each(STEPS.map((s) => s.name))("%s parses as bash", (step) => {
    const r = spawnSync("bash", ["-n"], { input: stepStdin(step, renderBundle({})) });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
  });

  it("keep the command line short and free of data: the program travels on stdin", () => {
    expect(stepCommand("apply", false)).toBe("bash -s apply");
    expect(stepCommand("remove", true)).toBe("sudo -n bash -s remove");
    const stdin = stepStdin("firewall", firewallBundle(parseHost(validHost())));
    expect(stdin.startsWith("STEP=firewall\n")).toBe(true);
    expect(stdin).toMatch(new RegExp(`\\nmain "\\$@" <<'${BUNDLE_DELIMITER}'\\n#@ host\\nmx1\\n[\\s\\S]*#@ end\\n${BUNDLE_DELIMITER}\\n$`));
  });

  it("a failure prints our reason first, then at most 20 lines of the tool's words, and nothing else", () => {
    const details = Array.from({ length: 40 }, (_, i) => `tool line ${i}`).join("\n");
    const r = runProgram(`${noLock}\napply() { note "progress"; echo noise; die "it broke; nothing was changed; fix it" "$(printf '%s' '${details}')"; }`, renderBundle({ host: "mx9" }));
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("mail-submission check on mx9: it broke; nothing was changed; fix it");
    expect(lines.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `  | tool line ${i}`));
    expect(r.stdout).toBe("");
    expect(r.status).toBe(1);
  });

  it("an unexpected failure still names the command and shows the tool's last words", () => {
    const r = runProgram(`${noLock}\napply() { echo "why it failed"; false; }`, renderBundle({ host: "mx9" }));
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("mail-submission check on mx9: failed unexpectedly (exit 1) at: false");
    expect(lines).toContain("  | why it failed");
  });

  it("a success prints the notes on stderr and the results on stdout, and no tool noise", () => {
    const r = runProgram(`${noLock}\napply() { echo noise; note "did it"; result "backend=x"; }`, renderBundle({ host: "mx9" }));
    expect(r).toEqual({ stdout: "backend=x\n", stderr: "check: did it\n", status: 0 });
  });

  it("use the same paths the renderers point Postfix and Dovecot at: the contract's, set before any script", () => {
    for (const step of STEPS) {
      const program = stepScript(step.name);
      for (const [name, value] of Object.entries(contractVariables())) expect(program).toContain(`  readonly ${name}='${value}'\n`);
      expect(program.indexOf("readonly TLS_LINK=")).toBeLessThan(program.indexOf("set -euo pipefail"));
    }
    expect(paths.certChain).toBe(`${HOST_PATHS.TLS_LINK}/${TLS_FILES.CERT_CHAIN_FILE}`);
    expect(paths.certKey).toBe(`${HOST_PATHS.TLS_LINK}/${TLS_FILES.CERT_KEY_FILE}`);
    expect(stepScript("certificate")).toContain(`"$tmp/$CERT_KEY_FILE"`);
    expect(stepScript("certificate")).toContain(`"$tmp/$CERT_CHAIN_FILE"`);
    expect(paths.postfixMapDir).toBe(HOST_PATHS.POSTFIX_MAP_DIR);
    expect(stepScript("postfix")).toContain(`MAP_DIR=$POSTFIX_MAP_DIR\n`);
    expect(stepScript("dovecot")).toContain(`"$DOVECOT_PASSWD"`);
    expect(paths.saslSocketAbsolute.endsWith(`/${paths.saslSocket}`)).toBe(true);
  });

  it("all pass shellcheck", () => {
    const r = spawnSync("bash", ["scripts/shellcheck.sh"], { encoding: "utf8" });
    expect(r.stdout + r.stderr).not.toMatch(/SC\d{4}/);
    expect(r.status).toBe(0);
  });
});

describe("step warnings", () => {
  it("are the notes that say warning, passed on without the step's prefix", () => {
    const stderr = "postfix: Postfix submission services configured\npostfix: warning: Postfix warns about the host's own configuration: /etc/postfix/main.cf, line 3: overriding earlier entry: smtpd_banner=x\n";
    expect(stepWarnings(stderr)).toEqual(["Postfix warns about the host's own configuration: /etc/postfix/main.cf, line 3: overriding earlier entry: smtpd_banner=x"]);
    expect(stepWarnings("check: checked\n")).toEqual([]);
    expect(stepWarnings(undefined)).toEqual([]);
  });

  it("come out of a real step program as notes on success", () => {
    const r = runProgram(`${noLock}\napply() { note "warning: careful"; note "done"; }`, renderBundle({ host: "mx9" }));
    expect(r.status).toBe(0);
    expect(stepWarnings(r.stderr)).toEqual(["careful"]);
  });
});
