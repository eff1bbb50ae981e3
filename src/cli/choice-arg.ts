// An option or positional whose value is one of a fixed list, defined from that one list: its
// --help text names the words, the completion scripts offer them (completion/tree.ts reads
// `choices`), and the command checks the value with `oneOf` against the same constant. Static and
// light: root.ts builds its command table with it, which --help loads.
import type { ArgDef } from "citty";
import { closest } from "../did-you-mean.ts";
import { UsageError } from "./output.ts";

/** A citty definition carrying its list (citty ignores the extra keys); `many`: a last positional
 *  that takes several of the words (grant's capabilities). */
export type ChoiceArg = ArgDef & { choices: readonly string[]; many?: boolean };

/** A `--name` (type "string") or a positional whose help reads "a | b | c <after>". */
export function choiceArg(type: "string" | "positional", words: readonly string[], after: string, extra: { alias?: string; required?: boolean; many?: boolean } = {}): ChoiceArg {
  return { type, description: [words.join(" | "), after].filter(Boolean).join(" "), choices: words, ...extra } as ChoiceArg;
}

/** The fixed list an argument's value comes from, or undefined for any other argument. */
export const choicesOf = (def: ArgDef): readonly string[] | undefined => (def as Partial<ChoiceArg>).choices;

/** Whether a positional takes several words of its list. */
export const takesMany = (def: ArgDef): boolean => (def as Partial<ChoiceArg>).many === true;

/** `words` as a sentence names them, the last two joined by `last`: "a, b or c". */
const sentenceList = (words: readonly string[], last: string): string => (words.length > 1 ? `${words.slice(0, -1).join(", ")} ${last} ${words.at(-1)}` : words.join(""));

/** "a, b or c". */
export const orList = (words: readonly string[]): string => sentenceList(words, "or");

/** "a, b and c". */
export const andList = (words: readonly string[]): string => sentenceList(words, "and");

/** `value` when it is one of `words`, typed as such; otherwise a usage error naming the list and
 *  the nearest word ("--role must be member or admin (did you mean admin?)."). */
export function oneOf<T extends string>(value: string, words: readonly T[], what: string): T {
  if ((words as readonly string[]).includes(value)) return value as T;
  const near = closest(value, words);
  throw new UsageError(`${what} must be ${orList(words)}${near ? ` (did you mean ${near}?)` : ""}.`);
}
