/** What every check gets: the host, the run's options, the trust anchors, and a row maker bound to the host. */
import type { Endpoint } from "./session";
import type { Trust } from "./trust";
import type { Options, Row, Status, Target } from "./types";

export interface CheckContext {
  target: Target;
  options: Options;
  trust: Trust;
  /** "Now" for expiry arithmetic, fixed per run so that rows agree with each other. */
  now: Date;
}

export function endpoint(ctx: CheckContext, port: number): Endpoint {
  return { address: ctx.target.address, port, hostname: ctx.target.hostname, timeoutMs: ctx.options.timeoutMs };
}

export function row(ctx: CheckContext, port: number, check: string, status: Status, detail: string): Row {
  return { host: ctx.target.label, port, check, status, detail };
}
