/**
 * Firewall openings as data, rendered for each backend. Only accepts are ever added: nothing here can cut SSH,
 * and the operator's own rules stay where they are. The host script picks the backend and records what it added.
 */
import { isIPv4 } from "node:net";
import type { HostConfig } from "../config/resolve";
import { enabledServices, NFT_COMMENT, ports } from "../host/contract";

export interface Opening {
  readonly port: number;
  /** Empty when open to every address of that family. */
  readonly v4: readonly string[] | "any" | "none";
  readonly v6: readonly string[] | "any" | "none";
}

const V4_ANY = "0.0.0.0/0";
const V6_ANY = "::/0";

function family(cidrs: readonly string[], any: string, is4: boolean): Opening["v4"] {
  const mine = cidrs.filter((c) => isIPv4(c.split("/")[0] ?? "") === is4);
  if (mine.includes(any)) return "any";
  return mine.length === 0 ? "none" : [...mine].sort();
}

export function renderOpenings(host: HostConfig): Opening[] {
  return enabledServices(host.services).map((s) => ({
    port: ports[s],
    v4: family(host.firewall.allow[s], V4_ANY, true),
    v6: family(host.firewall.allow[s], V6_ANY, false),
  }));
}

/**
 * nftables rule bodies as `families|body`, where families are the table families the body fits (`inet,ip`).
 * They are inserted into every base chain on the input hook: in nftables an accept in a table of our own does not
 * override a drop in the operator's table, so the accept has to stand in the operator's chain itself.
 */
export function renderNftRules(openings: readonly Opening[]): string[] {
  const tag = NFT_COMMENT;
  return openings.flatMap((o) => {
    if (o.v4 === "any" && o.v6 === "any") return [`inet,ip,ip6|tcp dport ${o.port} accept ${tag}`];
    const out: string[] = [];
    const set = (c: readonly string[]) => (c.length === 1 ? c[0] : `{ ${c.join(", ")} }`);
    if (o.v4 === "any") out.push(`inet|meta nfproto ipv4 tcp dport ${o.port} accept ${tag}`, `ip|tcp dport ${o.port} accept ${tag}`);
    else if (o.v4 !== "none") out.push(`inet,ip|ip saddr ${set(o.v4)} tcp dport ${o.port} accept ${tag}`);
    if (o.v6 === "any") out.push(`inet|meta nfproto ipv6 tcp dport ${o.port} accept ${tag}`, `ip6|tcp dport ${o.port} accept ${tag}`);
    else if (o.v6 !== "none") out.push(`inet,ip6|ip6 saddr ${set(o.v6)} tcp dport ${o.port} accept ${tag}`);
    return out;
  });
}

/** `ufw` argument lists (after "ufw"), one rule each; `ufw delete <same args>` removes it. */
export function renderUfwRules(openings: readonly Opening[]): string[] {
  return openings.flatMap((o) => {
    if (o.v4 === "any" && o.v6 === "any") return [`allow proto tcp from any to any port ${o.port}`];
    const sources = [o.v4, o.v6].flatMap((f) => (f === "any" ? [] : f === "none" ? [] : f));
    const anyFamilies = [o.v4 === "any" ? V4_ANY : null, o.v6 === "any" ? V6_ANY : null].filter((x): x is string => x !== null);
    return [...anyFamilies, ...sources].map((src) => `allow proto tcp from ${src} to any port ${o.port}`);
  });
}

/** firewall-cmd --permanent arguments (rich rules when sources are limited). */
export function renderFirewalldRules(openings: readonly Opening[]): string[] {
  return openings.flatMap((o) => {
    if (o.v4 === "any" && o.v6 === "any") return [`--add-port=${o.port}/tcp`];
    const rich = (fam: "ipv4" | "ipv6", src: string) =>
      `--add-rich-rule=rule family="${fam}" source address="${src}" port port="${o.port}" protocol="tcp" accept`;
    const v4 = o.v4 === "any" ? [V4_ANY] : o.v4 === "none" ? [] : o.v4;
    const v6 = o.v6 === "any" ? [V6_ANY] : o.v6 === "none" ? [] : o.v6;
    return [...v4.map((s) => rich("ipv4", s)), ...v6.map((s) => rich("ipv6", s))];
  });
}
