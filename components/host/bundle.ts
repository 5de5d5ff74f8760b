/**
 * The data a host script reads on stdin: named sections, each opened by a line `#@ name`, and a last line `#@ end`
 * (host/bundleFormat.ts). Plain text keeps the host side free of JSON parsers (bash + awk only); see host/lib.sh
 * `section`. The bundle travels inside a quoted here-document (host/program.ts), so no line may equal its delimiter.
 */
import { BUNDLE_DELIMITER, END_LINE, SECTION_MARKER, SECTION_NAME } from "./bundleFormat";

export type Bundle = Record<string, string | readonly string[]>;

export function renderBundle(bundle: Bundle): string {
  const sections = Object.entries(bundle).map(([name, body]) => {
    if (!SECTION_NAME.test(name) || name === "end") throw new Error(`bundle section name '${name}' is not allowed`);
    const text = typeof body === "string" ? body : body.join("\n");
    if (new RegExp(`^${SECTION_MARKER}`, "m").test(text)) throw new Error(`bundle section '${name}' contains a section marker`);
    if (new RegExp(`^${BUNDLE_DELIMITER}$`, "m").test(text)) throw new Error(`bundle section '${name}' contains the bundle delimiter`);
    return `${SECTION_MARKER}${name}\n${text}${text === "" || text.endsWith("\n") ? "" : "\n"}`;
  });
  return `${sections.join("")}${END_LINE}\n`;
}
