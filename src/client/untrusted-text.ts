// Text that a peer controls (message bodies, display names, summaries, cwd, host names), made fit
// to put in front of a model or a person. Removed: terminal escape sequences, control characters
// but newline and tab (C0, DEL and C1), bidirectional marks, overrides and isolates, and every
// default-ignorable code point (zero-width characters, variation selectors, the tag block, …);
// Unicode line breaks become newlines. Text imitating the tags that
// Claude Code and the model use around context (<system-reminder>, <channel>, <function_results>,
// <command-name>, …, with ASCII or full-width brackets) is defused: its "<" becomes "‹".

import { cutUnits, escapeNotPrintable } from "../protocol/names.ts";
import { ESCAPES, INVISIBLE, stripInvisible } from "../protocol/name-compare.ts";

const LINE_BREAKS = /[\u0085\u2028\u2029]/g;
const TAG_NAMES = "channel|system[\\w-]*|user[\\w-]*|human|assistant|function[\\w-]*|antml[\\w:-]*|command[\\w-]*|local-command[\\w-]*|bash[\\w-]*|tool[\\w-]*|invoke|parameter|thinking";
const TAGS = new RegExp(`[<\\uff1c\\ufe64](\\s*\\/?\\s*)(${TAG_NAMES})`, "gi");

/** Without terminal escape sequences and invisible characters (those of `sanitize`); newlines and
 *  tabs kept, tags left alone: for text shown in a terminal. Defined with the name comparison,
 *  which removes the same characters. */
export { stripInvisible };

/** Sanitized (see above), cut at `max` characters with "…". Newlines and tabs are kept. */
export function sanitize(text: string, max = Number.POSITIVE_INFINITY): string {
  const t = text.replace(ESCAPES, "").replace(LINE_BREAKS, "\n").replace(INVISIBLE, "").replace(TAGS, "‹$1$2");
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Sanitized, with every run of white space (newlines too) folded to one space, so that it cannot
 *  start a line of its own: for text shown inside one line. */
export const oneLine = (text: string, max: number): string => sanitize(text, max).replace(/\s+/g, " ");

/** oneLine in double quotes, with quotes and backslashes in it escaped (JSON's rules), so that it
 *  cannot close the quotes around it: `"mallory\" source=\"system"`. */
export const quoted = (text: string, max: number): string => JSON.stringify(oneLine(text, max));

/** A name (display name, session name, mesh name) in double quotes, on one line, cut at `max`
 *  characters with "…": JSON's escapes for quotes, backslashes and controls, and every character
 *  no name may hold (src/protocol/names.ts) written as its escape (`"c\u200barol"`) rather than
 *  removed, as `quoted` would. Brokers refuse such names now, but one stored before may hold them,
 *  and removing them made "c\u200barol" look like "carol". Tags are defused as in sanitize. */
export function quotedName(name: string, max: number): string {
  const cut = name.length > max ? `${cutUnits(name, max)}…` : name;
  return escapeNotPrintable(JSON.stringify(cut.replace(TAGS, "‹$1$2")));
}
