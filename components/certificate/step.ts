/** The certificate step's data: the chain (leaf first) and its key. Secret: the step's stdin is marked so. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";

export function certificateBundle(host: HostConfig, chainPem: string, keyPem: string): string {
  return renderBundle({ host: host.name, chain: chainPem, key: keyPem });
}
