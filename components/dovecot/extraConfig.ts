/**
 * The grammar of dovecotExtraConfig: lines that Dovecot's config parser reads one way only: `key = value`,
 * `name [argument] {`, `}`, comments and blank lines. No `!include` (it would pull in unchecked text), no line the
 * step's data format reserves (`#@ …`, the bundle delimiter), balanced braces, and none of the settings or sections
 * that carry the guarantees (DOVECOT_GUARDS), at whatever depth they appear.
 */
import { guardFor } from "../config/grammar";
import { BUNDLE_DELIMITER, SECTION_MARKER } from "../host/bundleFormat";
import { DOVECOT_GUARDS } from "./guards";

const SETTING = /^([a-z0-9_]+)\s*=\s*(.*)$/;
const SECTION = /^([a-z0-9_-]+)(\s+[A-Za-z0-9_./*:-]+)?\s*\{$/;

/** Every problem of the text, each naming its line. */
export function dovecotExtraProblems(text: string): string[] {
  const problems: string[] = [];
  let depth = 0;
  text.split("\n").forEach((raw, i) => {
    const at = `line ${i + 1}`;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith(SECTION_MARKER.trim()) || raw === BUNDLE_DELIMITER) {
      problems.push(`${at}: '${line.slice(0, 20)}' is reserved by mail-submission's step data`);
      return;
    }
    if (line.startsWith("#")) return;
    if (line.startsWith("!")) {
      problems.push(`${at}: includes (!include) are not allowed`);
      return;
    }
    if (line === "}") {
      depth -= 1;
      if (depth < 0) problems.push(`${at}: '}' closes no section`);
      return;
    }
    // Dovecot reads any line that ends in "{" as the start of a section, even after "key =".
    if (SETTING.test(line) && line.endsWith("{")) {
      problems.push(`${at}: a value may not end with '{' (Dovecot would open a section)`);
      return;
    }
    const name = SETTING.exec(line)?.[1] ?? SECTION.exec(line)?.[1];
    if (name === undefined) {
      problems.push(`${at}: '${line.slice(0, 40)}' is neither 'key = value', 'section {' nor '}'`);
      return;
    }
    if (SECTION.test(line)) depth += 1;
    const guarantee = guardFor(DOVECOT_GUARDS, name);
    if (guarantee !== undefined) problems.push(`${at}: '${name}' is managed by mail-submission: it carries ${guarantee}`);
  });
  if (depth > 0) problems.push(`${depth} section(s) not closed with '}'`);
  return problems;
}
