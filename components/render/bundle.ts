/**
 * The data a host script reads on stdin: named sections, each opened by a line `#@ name`.
 * Plain text keeps the host side free of JSON parsers (bash + awk only); see scripts/lib.sh `section`.
 */
export type Bundle = Record<string, string | readonly string[]>;

const SECTION_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function renderBundle(bundle: Bundle): string {
  return Object.entries(bundle)
    .map(([name, body]) => {
      if (!SECTION_NAME.test(name)) throw new Error(`bundle section name '${name}' is not allowed`);
      const text = typeof body === "string" ? body : body.join("\n");
      if (/^#@ /m.test(text)) throw new Error(`bundle section '${name}' contains a section marker`);
      return `#@ ${name}\n${text}${text === "" || text.endsWith("\n") ? "" : "\n"}`;
    })
    .join("");
}
