/**
 * The reserved lines of the data a host script reads on stdin (host/bundle.ts renders it, host/lib.sh reads it):
 * sections opened by `#@ name`, a last line `#@ end` whose absence tells the host that the data arrived cut short,
 * and the delimiter of the quoted here-document the data travels in. No value may contain any of them, so the
 * grammars of the escape hatches refuse them too. Plain data: imports nothing.
 */
export const BUNDLE_DELIMITER = "MAIL_SUBMISSION_BUNDLE";
export const SECTION_MARKER = "#@ ";
export const END_LINE = "#@ end";
/** Section names: what host/lib.sh `section` can look up with a plain string match. */
export const SECTION_NAME = /^[a-z0-9][a-z0-9._-]*$/;
