import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderPostfix } from "../../components/postfix/render";
import { postfixBundle } from "../../components/postfix/step";
import { withChange, type Mutable } from "./fixtures";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));

describe("Postfix renderer", () => {
  const plan = renderPostfix(host());
  const byKey = Object.fromEntries(plan.services.map((s) => [s.key, s]));

  it("adds 465 with implicit TLS and 587 with STARTTLS required, both as smtpd", () => {
    // One entry per address family on its wildcard address, whatever main.cf's inet_interfaces says.
    expect(byKey["0.0.0.0:465/inet"]?.line).toBe("0.0.0.0:465 inet n - n - - smtpd");
    expect(byKey["[::]:465/inet"]?.line).toBe("[::]:465 inet n - n - - smtpd");
    expect(byKey["0.0.0.0:587/inet"]?.line).toBe("0.0.0.0:587 inet n - n - - smtpd");
    expect(byKey["[::]:587/inet"]?.params).toEqual(byKey["0.0.0.0:587/inet"]?.params);
    expect(byKey["0.0.0.0:465/inet"]?.params).toMatchObject({ smtpd_tls_wrappermode: "yes", smtpd_tls_security_level: "encrypt" });
    expect(byKey["0.0.0.0:587/inet"]?.params.smtpd_tls_security_level).toBe("encrypt");
    expect(byKey["0.0.0.0:587/inet"]?.params).not.toHaveProperty("smtpd_tls_wrappermode");
  });

  it("requires SASL via Dovecot, never before TLS, and refuses relaying and mail without AUTH", () => {
    for (const key of ["0.0.0.0:465/inet", "[::]:465/inet", "0.0.0.0:587/inet", "[::]:587/inet"]) {
      expect(byKey[key]?.params).toMatchObject({
        smtpd_sasl_auth_enable: "yes",
        smtpd_sasl_type: "dovecot",
        smtpd_sasl_path: "private/mail-submission-auth",
        smtpd_tls_auth_only: "yes",
        smtpd_client_restrictions: "permit_sasl_authenticated,reject",
        smtpd_relay_restrictions: "permit_sasl_authenticated,reject",
        smtpd_recipient_restrictions: "permit_sasl_authenticated,reject",
      });
    }
  });

  it("allows TLS 1.2+ only, strong ciphers, no anonymous suites, server preference", () => {
    const p = byKey["0.0.0.0:465/inet"]?.params ?? {};
    expect(p.smtpd_tls_mandatory_protocols).toBe("!SSLv2,!SSLv3,!TLSv1,!TLSv1.1");
    expect(p.smtpd_tls_protocols).toBe(p.smtpd_tls_mandatory_protocols);
    expect(p.smtpd_tls_mandatory_ciphers).toBe("high");
    expect(p.smtpd_tls_mandatory_exclude_ciphers).toMatch(/^aNULL,eNULL,/);
    expect(p.tls_preempt_cipherlist).toBe("yes");
    expect(p.tls_high_cipherlist).toMatch(/^ECDHE-ECDSA-AES128-GCM-SHA256:/);
    expect(p.tls_high_cipherlist).not.toMatch(/CBC|RC4|3DES|SHA1(:|$)/);
    const modern = renderPostfix(host((h) => (h.tls = { profile: "modern" }))).services[0]?.params;
    expect(modern?.smtpd_tls_mandatory_protocols).toBe("!SSLv2,!SSLv3,!TLSv1,!TLSv1.1,!TLSv1.2");
  });

  it("checks login against sender with a texthash map, and hides the client's IP", () => {
    expect(byKey["0.0.0.0:587/inet"]?.params.smtpd_sender_restrictions).toBe("reject_sender_login_mismatch,permit_sasl_authenticated,reject");
    expect(byKey["0.0.0.0:587/inet"]?.params.smtpd_sender_login_maps).toBe(`texthash:/etc/postfix/mail-submission/${plan.mapVersion}/sender_login`);
    expect(byKey["0.0.0.0:587/inet"]?.params.cleanup_service_name).toBe("msub-cleanup");
    expect(byKey["msub-cleanup/unix"]?.params.header_checks).toBe(`regexp:/etc/postfix/mail-submission/${plan.mapVersion}/header_checks`);
    expect(plan.files.sender_login).toContain("\nalice@example.com alice@example.com\n");
    expect(plan.files.header_checks).toContain("with ESMTPSA");
  });

  it("maps extra senders and shared addresses to every login allowed to use them", () => {
    const p = renderPostfix(
      host((h) => {
        h.users = [
          { name: "alice", password: "a", senders: ["alice@example.com", "@example.org"] },
          { name: "bob@example.com", password: "b", senders: ["bob@example.com", "@example.org"] },
        ];
      }),
    );
    expect(p.files.sender_login?.split("\n").slice(1)).toEqual(["@example.org alice,bob@example.com", "alice@example.com alice", "bob@example.com bob@example.com", ""]);
  });

  it("maps system logins to their addresses in the given domains, plus-tags included", () => {
    const p = renderPostfix(host((h) => ((h.authBackend = "system"), (h.users = []), (h.senderPolicy = { systemDomains: ["example.com", "example.org"] }))));
    expect(p.services[0]?.params.smtpd_sender_login_maps).toBe(`regexp:/etc/postfix/mail-submission/${p.mapVersion}/sender_login_regexp`);
    expect(p.files).not.toHaveProperty("sender_login");
    expect(p.files.sender_login_regexp?.split("\n")[1]).toBe("/^([^@+]+)(\\+[^@]*)?@(example\\.com|example\\.org)$/ ${1}");
  });

  it("drops what is switched off", () => {
    const p = renderPostfix(
      host((h) => {
        h.services = { submissions: false };
        h.senderPolicy = { loginMatch: false, hideClientIp: false };
      }),
    );
    expect(p.services.map((s) => s.key)).toEqual(["0.0.0.0:587/inet", "[::]:587/inet"]);
    expect(p.files).toEqual({});
    expect(p.services[0]?.params).not.toHaveProperty("smtpd_sender_login_maps");
    expect(p.services[0]?.params.smtpd_sender_restrictions).toBe("permit_sasl_authenticated,reject");
  });

  it("passes extra settings through as -o overrides", () => {
    const p = renderPostfix(host((h) => (h.postfixExtraSettings = { smtpd_tls_loglevel: "2" })));
    expect(p.services[0]?.params.smtpd_tls_loglevel).toBe("2");
  });

  it("renders postconf -M and -P lines, with no white space inside any value", () => {
    const bundle = postfixBundle(plan);
    expect(bundle.services).toEqual([
      "0.0.0.0:465/inet=0.0.0.0:465 inet n - n - - smtpd",
      "[::]:465/inet=[::]:465 inet n - n - - smtpd",
      "0.0.0.0:587/inet=0.0.0.0:587 inet n - n - - smtpd",
      "[::]:587/inet=[::]:587 inet n - n - - smtpd",
      "msub-cleanup/unix=msub-cleanup unix n - n - 0 cleanup",
    ]);
    for (const line of bundle.params as string[]) expect(line).toMatch(/^([a-z0-9-]+|0\.0\.0\.0:\d+|\[::\]:\d+)\/(inet|unix)\/[a-z_]+=\S*$/);
    expect(bundle.params).toContain("[::]:465/inet/syslog_name=postfix/submissions");
    expect(bundle.params).toContain("0.0.0.0:587/inet/smtpd_helo_restrictions=");
  });
});
