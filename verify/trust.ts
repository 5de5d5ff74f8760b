/** Which certificates a server's chain must lead to, and how the report names that choice. */
import * as tls from "node:tls";
import type { Options, Target } from "./types";

export interface Trust {
  ca: string | string[];
  source: string;
}

/**
 * --ca-file first (the operator said so), then the CA the stack published (`ca` mode), then the operating
 * system's store: a mail client uses that one, not the copy of Mozilla's list built into node. A system without a
 * store (a bare container) falls back to node's copy, and the report says so.
 */
export function trustFor(options: Pick<Options, "caPem">, target: Pick<Target, "caPem">): Trust {
  if (options.caPem !== undefined) return { ca: options.caPem, source: "--ca-file" };
  if (target.caPem !== undefined) return { ca: target.caPem, source: "the stack's CA certificate" };
  const system = tls.getCACertificates("system");
  if (system.length > 0) return { ca: system, source: "the system trust store" };
  return { ca: [...tls.rootCertificates], source: "node's bundled roots (no system trust store found)" };
}
