/** Runs every check against every target, in order, one at a time (a pipeline wants a stable, readable report). */
import { checkAuth } from "./checks/auth";
import { checkImplicitTls } from "./checks/implicitTls";
import { checkMailbox } from "./checks/mailbox";
import { checkPort25 } from "./checks/port25";
import { checkRelay } from "./checks/relay";
import { checkSrv, makeResolver } from "./checks/srv";
import { checkStartTls } from "./checks/starttls";
import { checkLegacyTls } from "./checks/tlsVersions";
import { row, type CheckContext } from "./context";
import { trustFor } from "./trust";
import { SERVICE_PORTS, type MailboxService, type Options, type Row, type Service, type Target } from "./types";

async function checkService(ctx: CheckContext, service: Service): Promise<Row[]> {
  const port = ctx.target.services[service];
  if (port === undefined) return [row(ctx, SERVICE_PORTS[service], service, "SKIP", "not deployed on this host (stack endpoints)")];
  const implicitTls = service === "submissions";
  const first = implicitTls ? await checkImplicitTls(ctx, port) : await checkStartTls(ctx, port);
  // Without TLS there is nothing more a client could do on this port; the row above says why.
  if (!first.tls) return first.rows;
  return [
    ...first.rows,
    ...(await checkLegacyTls(ctx, port, !implicitTls)),
    await checkRelay(ctx, port, !implicitTls),
    ...(await checkAuth(ctx, port, implicitTls, first.certificateUsable)),
  ];
}

export async function verifyTarget(target: Target, options: Options, now = new Date()): Promise<Row[]> {
  const ctx: CheckContext = { target, options, trust: trustFor(options, target), now };
  const rows = [...(await checkService(ctx, "submissions")), ...(await checkService(ctx, "submission"))];
  for (const [service, port] of Object.entries(target.mailbox ?? {}) as [MailboxService, number][]) rows.push(...(await checkMailbox(ctx, service, port)));
  if (options.port25) rows.push(await checkPort25(ctx));
  if (options.srvDomains.length > 0) {
    const resolver = makeResolver(options.dnsServers, options.timeoutMs);
    for (const domain of options.srvDomains) rows.push(...(await checkSrv(ctx, resolver, domain)));
  }
  return rows;
}

export async function verifyAll(targets: readonly Target[], options: Options): Promise<Row[]> {
  const now = new Date();
  const rows: Row[] = [];
  for (const target of targets) rows.push(...(await verifyTarget(target, options, now)));
  return rows;
}
