/**
 * Readers of the host file formats, written from their documentation, for the round-trip property tests: each
 * reads a rendered file the way its daemon does, so that a value that would split, vanish or turn into a comment
 * shows up as a different record.
 */

/** Dovecot passwd-file(5): `user:password[:uid:gid:gecos:home:shell:extra]`, "#" comments, blank lines. */
export function readPasswdFile(text: string): { user: string; fields: string[] }[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [user = "", ...fields] = l.split(":");
      return { user, fields };
    });
}

/**
 * Postfix lookup tables (postmap(1), texthash): "#" at the start of a line is a comment, a line that starts with
 * white space continues the previous one, the key ends at the first white space.
 */
export function readPostfixTable(text: string): Map<string, string> {
  const logical: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (/^\s/.test(line) && logical.length > 0) logical[logical.length - 1] += ` ${line.trim()}`;
    else logical.push(line);
  }
  const table = new Map<string, string>();
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m !== null) table.set(m[1] ?? "", (m[2] ?? "").trim());
  }
  return table;
}

/**
 * master.cf as postconf -P writes it and master(8) reads it: `-o name=value` tokens split at white space; a token
 * that starts with "{" opens a braced value. Returns the settings master would see for `line` + our `-o`s.
 */
export function readMasterOptions(settings: Readonly<Record<string, string>>): Map<string, string> {
  const tokens = Object.entries(settings)
    .map(([k, v]) => `-o ${k}=${v}`)
    .join(" ")
    .split(/\s+/);
  const out = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== "-o") throw new Error(`master.cf token '${tokens[i]}' is not an option`);
    const opt = tokens[++i] ?? "";
    if (opt.startsWith("{")) throw new Error(`master.cf value '${opt}' would be read as a braced value`);
    const eq = opt.indexOf("=");
    out.set(opt.slice(0, eq), opt.slice(eq + 1));
  }
  return out;
}

/**
 * The source networks of an nft rule body (`ip saddr X …`, `ip6 saddr { X, Y } …`, or `meta nfproto ipv4 …` for all
 * of one family; no match at all for everyone), and its port.
 */
export function readNftRule(body: string): { sources: string[]; port: number } {
  const m = /^(?:meta nfproto (ipv[46]) )?(?:ip6? saddr (\{ [^}]+ \}|\S+) )?tcp dport (\d+) accept comment "mail-submission"$/.exec(body);
  if (m === null) throw new Error(`not one of our nft rules: ${body}`);
  const [, family, set = "", port] = m;
  const everyone = family === "ipv4" ? ["0.0.0.0/0"] : family === "ipv6" ? ["::/0"] : ["0.0.0.0/0", "::/0"];
  const sources = set === "" ? everyone : set.startsWith("{") ? set.slice(2, -2).split(", ") : [set];
  return { sources, port: Number(port) };
}

/** A ufw rule as `ufw` splits its arguments (white space): `allow proto tcp from SRC to any port N`. */
export function readUfwRule(args: string): { source: string; port: number } {
  const words = args.split(/\s+/);
  if (words.length !== 9 || words[0] !== "allow" || words[3] !== "from" || words[5] !== "to" || words[7] !== "port") {
    throw new Error(`not one of our ufw rules: ${args}`);
  }
  return { source: words[4] ?? "", port: Number(words[8]) };
}

/** A firewalld rich rule's attributes (firewalld.richlanguage(5)): name="value" pairs, values without quotes inside. */
export function readRichRule(arg: string): Record<string, string> {
  const body = arg.replace(/^--add-rich-rule=/, "");
  const attrs: Record<string, string> = {};
  let last = "";
  for (const m of body.matchAll(/(\w+)(?:="([^"]*)")?/g)) {
    const [, word = "", value] = m;
    if (value === undefined) last = word;
    else attrs[`${word === "address" || word === "family" ? "" : `${last}.`}${word}`] = value;
  }
  return attrs;
}

/**
 * Dovecot's config (doveconf): `key = value` lines, sections `name [arg] {` … `}`. Returns the top-level settings as
 * Dovecot would resolve them (a later assignment overrides an earlier one).
 */
export function readDovecotTopLevel(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let depth = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("{")) depth += 1;
    else if (line === "}") depth -= 1;
    else if (depth === 0) {
      const m = /^([a-z0-9_]+)\s*=\s*(.*)$/.exec(line);
      if (m === null) throw new Error(`unreadable Dovecot line: ${line}`);
      settings.set(m[1] ?? "", m[2] ?? "");
    }
  }
  if (depth !== 0) throw new Error("unbalanced Dovecot sections");
  return settings;
}
