import { describe, expect, it } from "vitest";
import { counts, exitCode, renderJson, renderTable } from "../../verify/report";
import type { Row } from "../../verify/types";

const rows: Row[] = [
  { host: "mx1", port: 465, check: "implicit-tls", status: "PASS", detail: "TLSv1.3 TLS_AES_256_GCM_SHA384, greeting 220" },
  { host: "mx1", port: 465, check: "certificate-expiry", status: "WARN", detail: "12 days left" },
  { host: "mx1", port: 587, check: "no-auth-before-tls", status: "FAIL", detail: "AUTH LOGIN PLAIN advertised\nbefore STARTTLS" },
  { host: "mx1", port: 25, check: "no-auth-on-25", status: "SKIP", detail: "port 25 does not answer" },
];

describe("verify: report", () => {
  it("renders one aligned row per check, details on one line, and a summary", () => {
    expect(renderTable(rows)).toBe(
      [
        "HOST  PORT  CHECK               STATUS  DETAIL",
        "mx1   465   implicit-tls        PASS    TLSv1.3 TLS_AES_256_GCM_SHA384, greeting 220",
        "mx1   465   certificate-expiry  WARN    12 days left",
        "mx1   587   no-auth-before-tls  FAIL    AUTH LOGIN PLAIN advertised before STARTTLS",
        "mx1   25    no-auth-on-25       SKIP    port 25 does not answer",
        "",
        "verify: 1 PASS, 1 WARN, 1 FAIL, 1 SKIP",
        "",
      ].join("\n"),
    );
  });

  it("gives machines the rows, the counts and the verdict as JSON", () => {
    const doc = JSON.parse(renderJson(rows)) as { ok: boolean; counts: Record<string, number>; results: Row[] };
    expect(doc.ok).toBe(false);
    expect(doc.counts).toEqual({ PASS: 1, WARN: 1, FAIL: 1, SKIP: 1 });
    expect(doc.results).toEqual(rows);
  });

  it("exits 1 on any FAIL, 0 otherwise (warnings and skips included)", () => {
    expect(exitCode(rows)).toBe(1);
    expect(exitCode(rows.filter((r) => r.status !== "FAIL"))).toBe(0);
    expect(exitCode([])).toBe(0);
    expect(counts([])).toEqual({ PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 });
  });
});
