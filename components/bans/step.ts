/**
 * The bans step's data: our fail2ban instance's configuration, jail, filter, the ban action for each firewall
 * backend (the host picks the one the firewall step chose) and the unit. Bans off: the step takes the instance away
 * if it was there.
 */
import type { HostConfig } from "../config/resolve";
import { renderBundle, type Bundle } from "../host/bundle";
import { BAN_BACKENDS, renderBanAction, renderFail2banConf, renderFail2banUnit, renderFilter, renderJail, renderNftBanTable } from "./render";

export function bansBundle(host: HostConfig): string {
  if (!host.bans.enabled) return renderBundle({ host: host.name, enabled: "" });
  const bundle: Bundle = {
    host: host.name,
    enabled: "yes",
    // The host reads the backend the firewall step recorded; naming the configured one here makes a change of it
    // re-run this step, so that the bans follow the openings into the new backend.
    firewall: host.firewall.backend,
    conf: renderFail2banConf(host),
    jail: renderJail(host),
    filter: renderFilter(host),
    "nft-table": renderNftBanTable(host),
    unit: renderFail2banUnit(),
  };
  for (const backend of BAN_BACKENDS) bundle[`action.${backend}`] = renderBanAction(host, backend);
  return renderBundle(bundle);
}
