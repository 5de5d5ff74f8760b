/**
 * The one escape for every value that reaches the autoconfiguration files (Mozilla's XML and Apple's plist, which
 * is XML too). Hostnames and domains are validated DNS names already; escaping anyway keeps the files well-formed
 * should a value with markup ever get past validation, instead of trusting every caller to have checked.
 */

/**
 * Characters XML 1.0 cannot carry at all, not even as a character reference (XML 1.0 §2.2). Read by code point (the
 * u flag), so a surrogate in this class is a lone one: a pair is one astral code point, which XML allows.
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text safe in element content and in quoted attribute values alike. */
export function escapeXml(value: string): string {
  if (NOT_XML_CHAR.test(value)) throw new Error(`value cannot be written into XML: ${JSON.stringify(value)}`);
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
