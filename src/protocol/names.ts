// What a display name, a session name and a mesh name may hold: one definition, from which the
// wire schemas (fields.ts), the CLI's checks and its escaping of names stored before these rules
// are all made. A name is shown to every peer and read by models, and is used to address peers
// (docs/protocol.md §4.2): it must not look like another name, nor like an address.
import { MAX_NAME_LEN } from "./limits.ts";

/** Code points no name may hold, as inclusive ranges: the general categories Cc (C0, DEL, C1), Cf
 *  (bidirectional marks, overrides and isolates, zero-width characters, the tag block, …), Cs (lone
 *  surrogates), Zl and Zp (line and paragraph separators), and every Default_Ignorable_Code_Point
 *  (variation selectors, Hangul fillers, …): characters that show as nothing, or move or recolour
 *  what follows, so that two different names look alike. test/unit/names.test.ts checks the list
 *  against the runtime's Unicode properties. */
const NOT_PRINTABLE_RANGES: readonly (readonly [number, number])[] = [
  [0x0000, 0x001f], [0x007f, 0x009f], [0x00ad, 0x00ad], [0x034f, 0x034f], [0x0600, 0x0605], [0x061c, 0x061c],
  [0x06dd, 0x06dd], [0x070f, 0x070f], [0x0890, 0x0891], [0x08e2, 0x08e2], [0x115f, 0x1160], [0x17b4, 0x17b5],
  [0x180b, 0x180f], [0x200b, 0x200f], [0x2028, 0x202e], [0x2060, 0x206f], [0x3164, 0x3164], [0xd800, 0xdfff],
  [0xfe00, 0xfe0f], [0xfeff, 0xfeff], [0xffa0, 0xffa0], [0xfff0, 0xfffb],
  [0x110bd, 0x110bd], [0x110cd, 0x110cd], [0x13430, 0x1343f], [0x1bca0, 0x1bca3], [0x1d173, 0x1d17a], [0xe0000, 0xe0fff],
];

const unit = (n: number) => `\\u${n.toString(16).padStart(4, "0")}`;
const hi = (cp: number) => 0xd800 + ((cp - 0x10000) >> 10);
const lo = (cp: number) => 0xdc00 + ((cp - 0x10000) & 0x3ff);

/** The astral ranges as surrogate pairs, for a pattern read code unit by code unit. */
function astralPairs(): string {
  const alternatives: string[] = [];
  for (const [a, b] of NOT_PRINTABLE_RANGES.filter(([a]) => a > 0xffff)) {
    for (let h = hi(a); h <= hi(b); h++) {
      const from = h === hi(a) ? lo(a) : 0xdc00;
      const to = h === hi(b) ? lo(b) : 0xdfff;
      alternatives.push(`${unit(h)}[${unit(from)}-${unit(to)}]`);
    }
  }
  return alternatives.join("|");
}

const BMP_CLASS = NOT_PRINTABLE_RANGES.filter(([a]) => a <= 0xffff).map(([a, b]) => (a === b ? unit(a) : `${unit(a)}-${unit(b)}`)).join("");

/** One printable character, code unit by code unit as TypeBox and the reference client read a
 *  schema pattern (no `u` flag): a BMP character outside the ranges and not `except`, or a
 *  surrogate pair that encodes no refused character. Read with the `u` flag it still refuses
 *  every BMP character above and lone surrogates, but takes every astral character. */
const printable = (except = "") => `(?:[^${BMP_CLASS}${except}]|(?!${astralPairs()})[\\ud800-\\udbff][\\udc00-\\udfff])`;

/** A member's display name: printable; no ":" (`lab:bob` reads as bob in mesh lab), no "/"
 *  (`a/b` reads as session b of member a), not "*" (everyone), not starting with "#" (a topic) or
 *  "@" (a group), no white space at either end (targets are trimmed). */
export const DISPLAY_NAME_PATTERN = `^(?![#@\\s])(?!\\*$)${printable(":/")}+(?<!\\s)$`;
/** A session's name, `<display name>/<label>`: the part before the first "/" as a display name,
 *  the rest printable (a label may hold ":" and "/"). */
export const SESSION_NAME_PATTERN = `^(?![#@\\s])(?!\\*$)${printable(":/")}+(?:/${printable()}*)?(?<!\\s)$`;
/** A mesh name: printable, no white space at either end (a mesh is addressed by its slug). */
export const MESH_NAME_PATTERN = `^(?!\\s)${printable()}+(?<!\\s)$`;

export const DISPLAY_NAME_RULE = `a display name is 1–${MAX_NAME_LEN} characters of visible text: no control, invisible or text-direction characters, no ":" or "/", not "*", not starting with "#" or "@", no white space at either end`;
export const SESSION_NAME_RULE = `a session name is <display name>/<label>, 1–${MAX_NAME_LEN} characters of visible text: no control, invisible or text-direction characters, and the part before the first "/" as a display name (no ":", not "*", not starting with "#" or "@"), no white space at either end`;
export const MESH_NAME_RULE = `a mesh name is 1–${MAX_NAME_LEN} characters of visible text: no control, invisible or text-direction characters, no white space at either end`;

/** Matches one character no name may hold (the ranges above; global, for replace). */
export const NOT_PRINTABLE = new RegExp(`[${NOT_PRINTABLE_RANGES.map(([a, b]) => `\\u{${a.toString(16)}}-\\u{${b.toString(16)}}`).join("")}]`, "gu");

/** "U+200B": how a refused character is named in a message (it is never shown itself). */
export const codePointName = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** The first character of `text` no name may hold, or null. */
export const firstNotPrintable = (text: string): string | null => text.match(new RegExp(NOT_PRINTABLE.source, "u"))?.[0] ?? null;

/** Why `name` is not a display name (`kind` "display") or a mesh name ("mesh"), in words that
 *  follow the name in a message ("holds \":\", which …"); null when the rules hold. The length is
 *  the schema's to check. */
export function nameProblem(name: string, kind: "display" | "mesh"): string | null {
  const bad = firstNotPrintable(name);
  if (bad !== null) return `holds ${codePointName(bad)}, a control, invisible or text-direction character`;
  if (/^\s|\s$/.test(name)) return "starts or ends with white space";
  if (kind === "mesh") return null;
  if (name.includes(":")) return `holds ":", which makes it read as a mesh prefix ("lab:bob" is bob in mesh lab)`;
  if (name.includes("/")) return `holds "/", which makes it read as a session ("a/b" is session b of member a)`;
  if (name === "*") return `is "*", which means everyone`;
  if (/^[#@]/.test(name)) return `starts with "${name[0]}", which makes it read as a ${name[0] === "#" ? "topic" : "group"}`;
  return null;
}

/** `text` with every character no name may hold written as its JSON escape (`\u200b`, a pair of
 *  escapes for an astral one), so that it shows and cannot hide or reorder anything. */
export const escapeNotPrintable = (text: string): string =>
  text.replace(NOT_PRINTABLE, (c) => [...Array(c.length).keys()].map((i) => unit(c.charCodeAt(i))).join(""));

/** The name a Claude Code session of `member` (its display name) with label `label` (already
 *  checked as one) connects with: `<member>/<label>`, cut to MAX_NAME_LEN on a character boundary.
 *  A member name enrolled before these rules may break them; what breaks them is written as its
 *  escape (`\u003a` for ":"; a leading "#", "@" or white space, a trailing white space and a lone
 *  "*" too), so that the session is still admitted; the peers list shows the member's name with
 *  the same escapes for the invisible characters. */
export function sessionName(member: string, label: string): string {
  return cutUnits(`${sessionNamePart(member)}/${label}`, MAX_NAME_LEN).trimEnd();
}

/** The member's part of its sessions' names (sessionName): its name, with what a session name may
 *  not hold there written as its escape. */
export const sessionNamePart = (member: string): string =>
  escapeNotPrintable(member)
    .replace(/:/g, unit(0x3a))
    .replace(/^[#@\s]|\s$/g, (c) => unit(c.charCodeAt(0)))
    .replace(/^\*$/, unit(0x2a));

/** Whether `name`, a session's in its hello, is one of `member`'s (its member's display name):
 *  the member's part and "/" then anything, or that part alone cut at MAX_NAME_LEN when a long
 *  name leaves no room for the "/" (as sessionName makes them). So a session cannot be named
 *  `alice/api`, or `alice`, unless its member is alice: whoever then sends to that name
 *  reaches alice's session, and a message it sends shows as alice's. */
export function namesMember(name: string, member: string): boolean {
  const part = sessionNamePart(member);
  return name.startsWith(`${part}/`) || name === cutUnits(`${part}/`, MAX_NAME_LEN).trimEnd();
}

/** `text` cut to at most `max` UTF-16 code units (the protocol's unit) on a character boundary:
 *  a cut through a surrogate pair would leave a lone surrogate, which no frame may carry. */
export function cutUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = text.charCodeAt(max - 1) >= 0xd800 && text.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}
