import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { derivedSalt, dovecotHash, sha512Crypt } from "../../components/dovecot/passwordHash";

describe("SHA512-CRYPT", () => {
  // The first two are test vectors of the SHA-crypt specification (akkadia.org/drepper/SHA-crypt.txt); the third
  // is what glibc's crypt(3) gives for the spec's minimum-rounds case.
  it.each([
    ["Hello world!", "saltstring", 5000, "svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"],
    ["Hello world!", "saltstringsaltst", 10000, "OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."],
    ["we have a short salt string but not a short password", "roundstoolow", 1000, "yjTuW7RnC.d35QcVTFIb6uvh/7IQ1.GFtFN3i/.jwmeWEhzjf4uD/OPCb4jRl6atJGYhLst8IyR6YAtTrriMU1"],
  ])("matches the specification for %j / %s / %d rounds", (password, salt, rounds, expected) => {
    expect(sha512Crypt(password, salt, rounds)).toBe(`$6$rounds=${rounds}$${salt}$${expected}`);
  });

  it("matches OpenSSL's implementation", () => {
    const ours = sha512Crypt("pässwörd with spaces", "Ab1./xyz", 5000).replace("rounds=5000$", "");
    const theirs = execFileSync("openssl", ["passwd", "-6", "-salt", "Ab1./xyz", "-stdin"], { input: "pässwörd with spaces\n" }).toString().trim();
    expect(ours).toBe(theirs);
  });

  it("derives a stable salt per login and password, different across logins", () => {
    expect(derivedSalt("pw", "alice")).toBe(derivedSalt("pw", "alice"));
    expect(derivedSalt("pw", "alice")).not.toBe(derivedSalt("pw", "bob"));
    expect(derivedSalt("pw", "alice")).not.toBe(derivedSalt("pw2", "alice"));
    expect(derivedSalt("pw", "alice")).toMatch(/^[./0-9A-Za-z]{16}$/);
  });

  it("gives Dovecot's form, the same each run, so an unchanged password shows no diff", () => {
    const a = dovecotHash("secret", "alice@example.com", 5000);
    expect(a).toMatch(/^\{SHA512-CRYPT\}\$6\$rounds=5000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(dovecotHash("secret", "alice@example.com", 5000)).toBe(a);
    expect(a).not.toContain("secret");
  });

  it("refuses salts crypt(3) would silently change", () => {
    expect(() => sha512Crypt("x", "bad$salt")).toThrow(/salt/);
    expect(() => sha512Crypt("x", "abc", 10)).toThrow(/rounds/);
  });
});
