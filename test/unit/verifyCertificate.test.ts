import { describe, expect, it } from "vitest";
import { certificateRows, certificateUsable, expiryStatus, type CertificateFacts } from "../../verify/checks/certificate";
import type { CheckContext } from "../../verify/context";

const DAY = 86_400_000;
const now = new Date("2026-06-01T12:00:00Z");
const inDays = (d: number) => new Date(now.getTime() + d * DAY);

describe("verify: certificate expiry thresholds", () => {
  it.each([
    [400, "PASS", "400 days left (until 2027-07-06T12:00:00Z)"],
    [21, "PASS", "21 days left"],
    [20.99, "WARN", "20 days left (until 2026-06-22T11:45:36Z), under --warn-days 21"],
    [7, "WARN", "7 days left"],
    [6.5, "FAIL", "6 days left (until 2026-06-08T00:00:00Z), under --fail-days 7"],
    [1.5, "FAIL", "1 day left"],
    [0.01, "FAIL", "0 days left"],
    [-1.5, "FAIL", "expired 1 day ago"],
    [-3, "FAIL", "expired 3 days ago (2026-05-29T12:00:00Z)"],
    [-0.5, "FAIL", "expired less than a day ago"],
  ] as const)("%d days left: %s", (days, status, detail) => {
    const r = expiryStatus(inDays(days), now, 21, 7);
    expect(r.status).toBe(status);
    expect(r.detail).toContain(detail);
  });

  it("honours other thresholds, and an unreadable date fails", () => {
    expect(expiryStatus(inDays(25), now, 30, 10).status).toBe("WARN");
    expect(expiryStatus(inDays(25), now, 30, 26).status).toBe("FAIL");
    expect(expiryStatus(inDays(1), now, 0, 0).status).toBe("PASS");
    expect(expiryStatus(new Date("garbage"), now, 21, 7)).toEqual({ status: "FAIL", detail: "the certificate has no readable expiry date" });
  });
});

describe("verify: certificate rows", () => {
  const ctx = (sha?: string): CheckContext => ({
    target: { label: "mx1", address: "10.0.0.1", hostname: "mail.example.com", services: {}, ...(sha ? { certificateSha256: sha } : {}) },
    options: { timeoutMs: 1000, warnDays: 21, failDays: 7, relayTo: "x@example.org", srvDomains: [], dnsServers: [], port25: false },
    trust: { ca: [], source: "the system trust store" },
    now,
  });
  const good: CertificateFacts = { authorized: true, notAfter: inDays(90), sha256: "ab".repeat(32) };

  it("passes a trusted certificate for the name, and compares it with the deployed one when the stack says which", () => {
    const rows = certificateRows(ctx("AB".repeat(32)), 465, good);
    expect(rows.map((r) => [r.check, r.status])).toEqual([
      ["certificate-trusted", "PASS"], ["certificate-hostname", "PASS"], ["certificate-expiry", "PASS"], ["certificate-deployed", "PASS"],
    ]);
    expect(rows[0]?.detail).toBe("chain verifies against the system trust store");
    expect(certificateUsable(rows)).toBe(true);
    expect(certificateRows(ctx(), 465, good).map((r) => r.check)).not.toContain("certificate-deployed");
  });

  it("fails an untrusted chain, a wrong name, and a certificate replaced behind the stack's back", () => {
    const rows = certificateRows(ctx("cd".repeat(32)), 587, {
      authorized: false, authorizationError: "CERT_HAS_EXPIRED", identityError: "Hostname/IP does not match certificate's altnames: Host: mail.example.com. is not in the cert's altnames: DNS:other.example.com",
      notAfter: inDays(-1), sha256: "ab".repeat(32),
    });
    expect(rows.map((r) => [r.check, r.status, r.port])).toEqual([
      ["certificate-trusted", "FAIL", 587], ["certificate-hostname", "FAIL", 587], ["certificate-expiry", "FAIL", 587], ["certificate-deployed", "FAIL", 587],
    ]);
    expect(rows[0]?.detail).toBe("CERT_HAS_EXPIRED (against the system trust store)");
    expect(rows[1]?.detail).toContain("DNS:other.example.com");
    expect(rows[3]?.detail).toBe("serves sha256 abababababababab..., the stack deployed cdcdcdcdcdcdcdcd...");
    expect(certificateUsable(rows)).toBe(false);
  });

  it("still lets a client use a certificate that expires soon, but not one for another name", () => {
    expect(certificateUsable(certificateRows(ctx(), 465, { ...good, notAfter: inDays(2) }))).toBe(true);
    expect(certificateUsable(certificateRows(ctx(), 465, { ...good, identityError: "no match" }))).toBe(false);
    expect(certificateUsable([])).toBe(false);
  });
});
