/**
 * Targets from a Pulumi stack: `pulumi stack output hosts --json --stack <name>`, as exported by
 * components/program.ts. The JSON is checked with the outputs' own schema (components/outputs.ts), so an output
 * that changed shape is a clear error, not a half-checked host.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { hostOutputsSchema } from "../components/outputs";
import { UsageError } from "./args";
import { MAILBOX_PORTS, type MailboxService, type Service, type Target } from "./types";

const run = promisify(execFile);

const HostsOutput = z.record(z.string(), hostOutputsSchema);

const SERVICES = new Set<string>(["submissions", "submission"]);

/** Pure: the stack's `hosts` output → one target per host, connecting to the name its endpoints give. */
export function parseStackHosts(json: string, stack: string): Target[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new UsageError(`stack ${stack}: output "hosts" is not JSON`);
  }
  const parsed = HostsOutput.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${["hosts", ...i.path].join(".")}: ${i.message}`).join("; ");
    throw new UsageError(`stack ${stack}: unexpected output shape: ${issues}`);
  }
  const targets = Object.entries(parsed.data).map(([name, host]) => {
    const services: Partial<Record<Service, number>> = {};
    const mailbox: Partial<Record<MailboxService, number>> = {};
    let hostname: string | undefined;
    for (const endpoint of host.endpoints) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new UsageError(`stack ${stack}: host ${name}: endpoint "${endpoint}" is not a URL`);
      }
      const service = url.protocol.replace(/:$/, "");
      if (Object.hasOwn(MAILBOX_PORTS, service)) {
        if (url.port === "") throw new UsageError(`stack ${stack}: host ${name}: endpoint "${endpoint}" has no port`);
        mailbox[service as MailboxService] = Number(url.port);
        continue;
      }
      if (!SERVICES.has(service)) continue; // whatever comes later is not this tool's business until it knows how
      if (url.port === "") throw new UsageError(`stack ${stack}: host ${name}: endpoint "${endpoint}" has no port`);
      if (hostname !== undefined && url.hostname !== hostname) throw new UsageError(`stack ${stack}: host ${name}: endpoints name two hosts (${hostname}, ${url.hostname})`);
      hostname = url.hostname;
      services[service as Service] = Number(url.port);
    }
    if (hostname === undefined) throw new UsageError(`stack ${stack}: host ${name} exports no submission endpoint`);
    return {
      label: name, address: hostname, hostname, services,
      ...(Object.keys(mailbox).length > 0 ? { mailbox } : {}),
      ...(host.caCertificatePem ? { caPem: host.caCertificatePem } : {}),
      // A certificate the host renews may rightly differ from the one last deployed: chain, name and expiry are the check.
      ...(host.certificateSha256 && host.certificateSource !== "host" ? { certificateSha256: host.certificateSha256.toLowerCase() } : {}),
    };
  });
  if (targets.length === 0) throw new UsageError(`stack ${stack}: output "hosts" lists no host`);
  return targets;
}

export async function readStackHosts(stack: string, timeoutMs: number): Promise<Target[]> {
  let stdout: string;
  try {
    ({ stdout } = await run("pulumi", ["stack", "output", "hosts", "--json", "--stack", stack], { timeout: Math.max(timeoutMs, 60_000), maxBuffer: 16 * 1024 * 1024 }));
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string; message: string };
    const why = err.code === "ENOENT" ? "the pulumi CLI is not on PATH" : (err.stderr || err.message).trim();
    throw new UsageError(`could not read the outputs of stack ${stack}: ${why}`);
  }
  return parseStackHosts(stdout, stack);
}
