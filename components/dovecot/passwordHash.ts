/**
 * SHA512-CRYPT ("$6$", Drepper's SHA-crypt, https://www.akkadia.org/drepper/SHA-crypt.txt), which every Dovecot
 * verifies through libc's crypt(3), so no password ever has to reach the host.
 *
 * The salt is derived from the password and the login (HMAC), not random: the same password yields the same hash,
 * so an unchanged password gives no diff on the next `pulumi up`, while two users with one password still get
 * different salts.
 */
import { createHash, createHmac, hash } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const DEFAULT_ROUNDS = 50_000;

/** The byte order in which SHA-512 crypt spreads the final digest over its base-64 text. */
const ORDER: readonly (readonly [number, number, number])[] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** Repeats `digest` to exactly `length` bytes. */
function stretch(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, length - i));
  return out;
}

/** crypt(3) with "$6$rounds=N$salt$": `rounds` is always written, so the cost is explicit in the hash. */
export function sha512Crypt(password: string, salt: string, rounds = DEFAULT_ROUNDS): string {
  if (!/^[./0-9A-Za-z]{1,16}$/.test(salt)) throw new Error("salt must be 1-16 characters of [./0-9A-Za-z]");
  if (!Number.isInteger(rounds) || rounds < 1000 || rounds > 999_999_999) throw new Error("rounds must be 1000..999999999");
  const p = Buffer.from(password, "utf8");
  const s = Buffer.from(salt, "ascii");
  const sha = () => createHash("sha512");

  const b = sha().update(p).update(s).update(p).digest();
  const a = sha().update(p).update(s).update(stretch(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  const da = a.digest();

  const dpCtx = sha();
  for (let i = 0; i < p.length; i++) dpCtx.update(p);
  const pSeq = stretch(dpCtx.digest(), p.length);

  const dsCtx = sha();
  for (let i = 0; i < 16 + (da[0] ?? 0); i++) dsCtx.update(s);
  const sSeq = stretch(dsCtx.digest(), s.length);

  // The rounds are most of the cost (they run at every preview and up): one-shot hashes of one reused buffer, which
  // is about twice as fast as a Hash object per round.
  let c = da;
  const input = Buffer.alloc(c.length + sSeq.length + 2 * pSeq.length);
  for (let i = 0; i < rounds; i++) {
    let n = (i & 1 ? pSeq : c).copy(input, 0);
    if (i % 3 !== 0) n += sSeq.copy(input, n);
    if (i % 7 !== 0) n += pSeq.copy(input, n);
    n += (i & 1 ? c : pSeq).copy(input, n);
    c = hash("sha512", input.subarray(0, n), "buffer");
  }

  let text = ORDER.map(([x, y, z]) => b64From24(c[x] ?? 0, c[y] ?? 0, c[z] ?? 0, 4)).join("");
  text += b64From24(0, 0, c[63] ?? 0, 2);
  return `$6$rounds=${rounds}$${salt}$${text}`;
}

/** A 16-character crypt salt derived from the password and the login. */
export function derivedSalt(password: string, login: string): string {
  const mac = createHmac("sha256", password).update(`mail-submission/v1/${login}`).digest();
  return [...mac.subarray(0, 16)].map((byte) => ITOA64[byte & 0x3f]).join("");
}

/** Hashes made in this run, by HMAC of their inputs: a stack's users are usually the same on every host. */
const made = new Map<string, string>();

/** The Dovecot passwd-file form: `{SHA512-CRYPT}$6$…`. */
export function dovecotHash(password: string, login: string, rounds = DEFAULT_ROUNDS): string {
  const key = createHmac("sha256", password).update(`${login}\0${rounds}`).digest("base64");
  let hashed = made.get(key);
  if (hashed === undefined) {
    hashed = `{SHA512-CRYPT}${sha512Crypt(password, derivedSalt(password, login), rounds)}`;
    made.set(key, hashed);
  }
  return hashed;
}
