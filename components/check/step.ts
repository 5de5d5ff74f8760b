/**
 * The check step's data. The check re-runs whenever anything it checks changed: its stdin carries the certificate's
 * fingerprint, the guarded settings it reads back, and a digest of the other steps' non-secret data.
 */
import { createHash } from "node:crypto";
import type { HostConfig } from "../config/resolve";
import { dovecotGuarantees } from "../dovecot/guarantees";
import { renderDovecot } from "../dovecot/render";
import { firewallBundle } from "../firewall/step";
import { renderBundle } from "../host/bundle";
import { enabledPorts } from "../host/contract";
import { PERMIT_GUARANTEE, PERMIT_VALUE_ERE, TRUST_GUARANTEE, TRUST_PARAMS_ERE } from "../postfix/guards";
import { postfixGuarantees } from "../postfix/guarantees";
import { renderPostfix } from "../postfix/render";
import { postfixStepBundle } from "../postfix/step";

/**
 * `fingerprint`: the leaf the stack made or was given, or `installed` where the host renews its certificate (acme,
 * host modes), whose pair at the check's run is the one to find served; `servedAtDeploy` then names the pair the
 * certificate step installed, so that the check re-runs whenever that step does.
 */
export function checkBundle(host: HostConfig, fingerprint: string, servedAtDeploy = ""): string {
  const plan = renderPostfix(host);
  const digest = createHash("sha256")
    .update(postfixStepBundle(host))
    .update(firewallBundle(host))
    .update(renderDovecot(host, "2.3"))
    .update(renderDovecot(host, "2.4"))
    .digest("hex");
  return renderBundle({
    host: host.name,
    hostname: host.hostname,
    ports: enabledPorts(host.services, true),
    fingerprint,
    "certificate-deployed": servedAtDeploy,
    "postfix-guarantees": postfixGuarantees(plan),
    // Besides what we set, no -o on our services may widen who is trusted or carry a permit keyword.
    "postfix-services": plan.services.map((s) => s.key),
    "postfix-trust": [TRUST_PARAMS_ERE, TRUST_GUARANTEE],
    "postfix-permit": [PERMIT_VALUE_ERE, PERMIT_GUARANTEE],
    "dovecot-guarantees": dovecotGuarantees(host),
    revision: digest,
  });
}
