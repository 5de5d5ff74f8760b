/** Reading `pulumi up` output the way a user meets it on screen. */

/** Its length in lines, the Diagnostics block (blank lines left out), and the first line of ours in it. */
export function failureOutput(output: string): { lines: number; diagnostics: string[]; reason: string | undefined } {
  const all = output.trimEnd().split("\n");
  const start = all.findIndex((l) => l.startsWith("Diagnostics:"));
  const end = all.findIndex((l, i) => i > start && /^(Outputs|Resources):/.test(l));
  const diagnostics = start < 0 ? [] : all.slice(start, end < 0 ? undefined : end).filter((l) => l.trim() !== "");
  return { lines: all.length, diagnostics, reason: diagnostics.find((l) => l.includes("mail-submission "))?.trim() };
}

