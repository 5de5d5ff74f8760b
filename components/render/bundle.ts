/**
 * The data a host script reads on stdin: named sections, each opened by a line `#@ name`, and a last line `#@ end`
 * whose absence tells the host that the data arrived cut short. Plain text keeps the host side free of JSON parsers
 * (bash + awk only); see scripts/lib.sh `section`. The bundle travels inside a quoted here-document (steps.ts), so
 * no line may equal its delimiter.
 */
export type Bundle = Record<string, string | readonly string[]>;

export const BUNDLE_DELIMITER = "MAIL_SUBMISSION_BUNDLE";
const SECTION_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function renderBundle(bundle: Bundle): string {
  const sections = Object.entries(bundle).map(([name, body]) => {
    if (!SECTION_NAME.test(name) || name === "end") throw new Error(`bundle section name '${name}' is not allowed`);
    const text = typeof body === "string" ? body : body.join("\n");
    if (/^#@ /m.test(text)) throw new Error(`bundle section '${name}' contains a section marker`);
    if (new RegExp(`^${BUNDLE_DELIMITER}$`, "m").test(text)) throw new Error(`bundle section '${name}' contains the bundle delimiter`);
    return `#@ ${name}\n${text}${text === "" || text.endsWith("\n") ? "" : "\n"}`;
  });
  return `${sections.join("")}#@ end\n`;
}
