/** The firewall step's data: the openings rendered for every backend (the host picks), and the nft-sync helper. */
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { HOST_PATHS, NFT_COMMENT } from "../host/contract";
import { contractPrelude, hostFile } from "../host/program";
import { renderFirewalldRules, renderNftRules, renderOpenings, renderUfwRules } from "./render";

/** nft-sync as installed on the host: a program of its own, so the contract's values it needs are written into it. */
export function nftSyncScript(): string {
  const [shebang, ...rest] = hostFile("firewall/nft-sync.sh").split("\n");
  return [shebang, contractPrelude({ NFT_RULES: HOST_PATHS.NFT_RULES, NFT_COMMENT }).trimEnd(), ...rest].join("\n");
}

export function firewallBundle(host: HostConfig): string {
  const openings = renderOpenings(host);
  return renderBundle({
    host: host.name,
    backend: host.firewall.backend,
    nft: renderNftRules(openings),
    ufw: renderUfwRules(openings),
    firewalld: renderFirewalldRules(openings),
    "nft-sync": nftSyncScript(),
  });
}
