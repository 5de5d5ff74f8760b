import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderFirewalldRules, renderNftRules, renderOpenings, renderUfwRules } from "../../components/firewall/render";
import { withChange, type Mutable } from "./fixtures";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));

const limited = host((h) => {
  h.services = { submission: false, imaps: true };
  h.firewall = { allow: { submissions: ["198.51.100.0/24", "203.0.113.9", "2001:db8::/32"], imaps: ["0.0.0.0/0"] } };
});

describe("firewall renderer", () => {
  it("opens the enabled ports to everyone by default", () => {
    expect(renderOpenings(host())).toEqual([
      { port: 465, v4: "any", v6: "any" },
      { port: 587, v4: "any", v6: "any" },
    ]);
  });

  it("splits allowed sources by family", () => {
    expect(renderOpenings(limited)).toEqual([
      { port: 465, v4: ["198.51.100.0/24", "203.0.113.9/32"], v6: ["2001:db8::/32"] },
      { port: 993, v4: "any", v6: "none" },
    ]);
  });

  it("nftables: accepts only, tagged, each fitted to the table families it can stand in", () => {
    expect(renderNftRules(renderOpenings(host()))).toEqual([
      'inet,ip,ip6|tcp dport 465 accept comment "mail-submission"',
      'inet,ip,ip6|tcp dport 587 accept comment "mail-submission"',
    ]);
    expect(renderNftRules(renderOpenings(limited))).toEqual([
      'inet,ip|ip saddr { 198.51.100.0/24, 203.0.113.9/32 } tcp dport 465 accept comment "mail-submission"',
      'inet,ip6|ip6 saddr 2001:db8::/32 tcp dport 465 accept comment "mail-submission"',
      'inet|meta nfproto ipv4 tcp dport 993 accept comment "mail-submission"',
      'ip|tcp dport 993 accept comment "mail-submission"',
    ]);
    for (const rule of renderNftRules(renderOpenings(limited))) expect(rule).not.toMatch(/drop|reject|policy|flush/);
  });

  it("ufw: one allow per source, deletable with the same arguments", () => {
    expect(renderUfwRules(renderOpenings(host()))).toEqual(["allow proto tcp from any to any port 465", "allow proto tcp from any to any port 587"]);
    expect(renderUfwRules(renderOpenings(limited))).toEqual([
      "allow proto tcp from 198.51.100.0/24 to any port 465",
      "allow proto tcp from 203.0.113.9/32 to any port 465",
      "allow proto tcp from 2001:db8::/32 to any port 465",
      "allow proto tcp from 0.0.0.0/0 to any port 993",
    ]);
  });

  it("firewalld: plain ports, or rich rules for limited sources", () => {
    expect(renderFirewalldRules(renderOpenings(host()))).toEqual(["--add-port=465/tcp", "--add-port=587/tcp"]);
    expect(renderFirewalldRules(renderOpenings(limited))).toEqual([
      '--add-rich-rule=rule family="ipv4" source address="198.51.100.0/24" port port="465" protocol="tcp" accept',
      '--add-rich-rule=rule family="ipv4" source address="203.0.113.9/32" port port="465" protocol="tcp" accept',
      '--add-rich-rule=rule family="ipv6" source address="2001:db8::/32" port port="465" protocol="tcp" accept',
      '--add-rich-rule=rule family="ipv4" source address="0.0.0.0/0" port port="993" protocol="tcp" accept',
    ]);
  });
});
