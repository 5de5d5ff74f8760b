import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config";
import { renderBundle } from "../../components/render/bundle";
import { paths } from "../../components/render/paths";
import { STEPS, checkBundle, firewallBundle, packagesBundle, postfixStepBundle, stepCommand, stepScript } from "../../components/steps";
import { validHost, withChange } from "./fixtures";

/** Runs lib.sh's bundle reader with real bash on `bundle`, printing the named section. */
function readSection(bundle: string, name: string): string {
  const program = `${stepScript("check").split("\n# The last step")[0]}\nread_bundle\nsection "$1"`;
  return execFileSync("bash", ["-c", program, "test", name], { input: bundle }).toString();
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

  it("refuses content that would open a section of its own", () => {
    expect(() => renderBundle({ x: "a\n#@ y\n" })).toThrow(/section marker/);
    expect(() => renderBundle({ "bad name": "" })).toThrow(/not allowed/);
  });

  it("install what the host needs: the firewall tool only when one is named", () => {
    const h = parseHost(validHost());
    expect(readSection(packagesBundle(h), "packages")).toBe("postfix\ndovecot-core\nopenssl\nca-certificates\n");
    const ufw = parseHost(withChange((x) => ((x.firewall = { backend: "ufw" }), (x.services = { imaps: true }))));
    expect(readSection(packagesBundle(ufw), "packages")).toContain("dovecot-imapd\nufw\n");
    expect(readSection(packagesBundle(h), "mailname")).toBe("mail.example.com\n");
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
});

describe("step scripts", () => {
  it.each(STEPS.map((s) => s.name))("%s parses as bash", (step) => {
    const r = spawnSync("bash", ["-n"], { input: stepScript(step) });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
  });

  it("travel inside the command, quoted so the remote shell hands them to bash unchanged", () => {
    const cmd = stepCommand("firewall", "remove", false);
    expect(cmd.startsWith("bash -c '")).toBe(true);
    expect(cmd.endsWith(" mail-submission-firewall remove")).toBe(true);
    // What the remote login shell would run: echo the script back instead of running it.
    const echoed = execFileSync("sh", ["-c", cmd.replace(/^bash -c /, "printf %s ")]).toString();
    expect(echoed).toBe(`${stepScript("firewall")}mail-submission-firewallremove`);
    expect(stepCommand("postfix", "apply", true).startsWith("sudo -n bash -c '")).toBe(true);
  });

  it("use the same paths the renderers point Postfix and Dovecot at", () => {
    expect(stepScript("certificate")).toContain(`TLS_DIR=${paths.certChain.replace(/\/fullchain\.pem$/, "")}\nCERT_CHAIN=$TLS_DIR/fullchain.pem\nCERT_KEY=$TLS_DIR/privkey.pem`);
    expect(paths.certKey).toBe(paths.certChain.replace("fullchain.pem", "privkey.pem"));
    expect(stepScript("postfix")).toContain(`MAP_DIR=${paths.postfixMapDir}\n`);
    expect(stepScript("dovecot")).toContain(`PASSWD=${paths.dovecotPasswd}\n`);
    expect(stepScript("dovecot")).toContain(`SOCKET=${paths.saslSocketAbsolute}\n`);
  });

  it("all pass shellcheck", () => {
    const r = spawnSync("bash", ["scripts/shellcheck.sh"], { encoding: "utf8" });
    expect(r.stdout + r.stderr).not.toMatch(/SC\d{4}/);
    expect(r.status).toBe(0);
  });
});
