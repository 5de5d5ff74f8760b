/**
 * RFC 6186 / RFC 8314 section 5.1: `_submissions._tcp.<domain>` and `_submission._tcp.<domain>` point clients at
 * this host on 465 and 587. The matching is pure (`srvFinding`); the lookup goes to the chosen resolver.
 */
import type { SrvRecord } from "node:dns";
import { Resolver } from "node:dns/promises";
import { row, type CheckContext } from "../context";
import { describeError } from "../errors";
import { SERVICE_PORTS, type Row, type Service, type Status } from "../types";

const bare = (name: string): string => name.toLowerCase().replace(/\.$/, "");

function show(r: SrvRecord): string {
  return `${r.priority} ${r.weight} ${r.port} ${r.name || "."}`;
}

/** Whether `records` send clients to `hostname` on `port`; a "." target means "service not available" (RFC 6186 section 4). */
export function srvFinding(records: readonly SrvRecord[], hostname: string, port: number): { status: Status; detail: string } {
  const listed = records.map(show).join(", ");
  if (records.some((r) => bare(r.name) === bare(hostname) && r.port === port)) return { status: "PASS", detail: listed };
  if (records.length > 0 && records.every((r) => bare(r.name) === "")) return { status: "FAIL", detail: `published as not available: ${listed}` };
  return { status: "FAIL", detail: `no record for ${bare(hostname)}:${port} (found ${listed || "none"})` };
}

export function makeResolver(servers: readonly string[], timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

export async function checkSrv(ctx: CheckContext, resolver: Resolver, domain: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const service of ["submissions", "submission"] as const satisfies readonly Service[]) {
    const port = ctx.target.services[service] ?? SERVICE_PORTS[service];
    const name = `_${service}._tcp.${bare(domain)}`;
    if (ctx.target.services[service] === undefined) {
      rows.push(row(ctx, port, `srv ${name}`, "SKIP", `${service} is not deployed on this host`));
      continue;
    }
    try {
      const found = srvFinding(await resolver.resolveSrv(name), ctx.target.hostname, port);
      rows.push(row(ctx, port, `srv ${name}`, found.status, found.detail));
    } catch (e) {
      rows.push(row(ctx, port, `srv ${name}`, "FAIL", `DNS lookup failed: ${describeError(e)}`));
    }
  }
  return rows;
}
