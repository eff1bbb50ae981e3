// User text that the broker would refuse, refused here first: one check for every command, against
// the protocol's own schemas and limits (src/protocol), so the CLI and the broker cannot disagree
// about a bound, and the user reads which flag or argument broke which bound instead of the
// broker's schema path ("Invalid set_summary frame at /summary: …"). Called before connecting:
// refused input costs no request, no rate-limit token and no audit entry.
import * as F from "../protocol/fields.ts";
import * as L from "../protocol/limits.ts";
import { codePointName, nameProblem } from "../protocol/names.ts";
import { UsageError } from "./output.ts";
import { brokerBase, BrokerUrlError } from "../client/broker-url.ts";

/** A protocol string field as the CLI checks it. `schema`: the wire schema the broker validates it
 *  with (its minLength, maxLength and pattern are read from it); `maxLength`: the bound its pattern
 *  encodes, for the names that have no maxLength of their own; `allowed`: what it takes, in words,
 *  said when the pattern refuses the text or when it is empty. */
export type TextField = {
  schema: { readonly minLength?: number; readonly maxLength?: number; readonly pattern?: string };
  maxLength?: number;
  allowed: string;
  /** Why a text its pattern refuses is refused, in words that follow the label; the default names
   *  a control character or echoes the text. */
  problem?: (value: string) => string | null;
};

const NAME_SHAPE = "starting with a letter or digit";

/** Every field whose text comes from the user. */
export const FIELDS = {
  summary: { schema: F.Summary, allowed: `up to ${L.MAX_SUMMARY_LEN} characters` },
  description: { schema: F.Description, allowed: `up to ${L.MAX_DESCRIPTION_LEN} characters` },
  reason: { schema: F.Reason, allowed: `up to ${L.MAX_REASON_LEN} characters` },
  meshName: { schema: F.MeshName, allowed: `1–${L.MAX_NAME_LEN} characters of visible text (e.g. "Shop team")`, problem: (v) => nameProblem(v, "mesh") },
  displayName: {
    schema: F.DisplayName,
    allowed: `1–${L.MAX_NAME_LEN} characters of visible text, without ":" or "/" and not starting with "#" or "@" (e.g. "Alice K")`,
    problem: (v) => nameProblem(v, "display"),
  },
  slug: { schema: F.Slug, maxLength: L.MAX_SLUG_LEN, allowed: `lowercase letters, digits and -, ${NAME_SHAPE} (e.g. shop-team)` },
  topic: { schema: F.TopicName, maxLength: L.MAX_TOPIC_NAME_LEN, allowed: `lowercase letters, digits, - and _, ${NAME_SHAPE} (e.g. backend)` },
  group: { schema: F.GroupName, maxLength: L.MAX_GROUP_NAME_LEN, allowed: `lowercase letters, digits, -, _ and /, ${NAME_SHAPE} (e.g. frontend)` },
} satisfies Record<string, TextField>;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** `value`, unchanged, when the broker would take it for `field`. Otherwise throws UsageError
 *  (exit 2) that starts with `label` (the flag or argument the text came from: "--description",
 *  "The summary") and says the bound it breaks: "--description is 600 characters; the limit is
 *  512." Lengths are UTF-16 code units, as the schemas count them. The caller trims first where
 *  surrounding spaces mean nothing (names). */
export function checkText(value: string, label: string, field: TextField): string {
  const { minLength = 0, maxLength = field.maxLength, pattern } = field.schema;
  if (maxLength !== undefined && value.length > maxLength) throw new UsageError(`${label} is ${value.length} characters; the limit is ${maxLength}.`);
  if (value.length < minLength) throw new UsageError(`${label} is empty; it takes ${field.allowed}.`);
  if (pattern !== undefined && !new RegExp(pattern).test(value)) {
    const control = CONTROL.exec(value)?.[0];
    // A name echoed back is short (its length was checked); a control character is named, not shown.
    const what = field.problem?.(value) ?? (control !== undefined ? `holds a control character (${codePointName(control)})` : `"${value}" is not allowed`);
    throw new UsageError(`${label} ${what}; it takes ${field.allowed}.`);
  }
  return value;
}

/** The broker base from what the user gave (`new --broker`, `set-broker`), checked before anything
 *  is contacted: a bad URL is a usage error naming where it came from (`source`, when that is not
 *  plain: a flag or a variable); an assumed http:// is said. */
export function brokerFrom(input: string, source: string | null, note: (line: string) => void): string {
  try {
    const { base, assumed } = brokerBase(input);
    if (assumed) note(`No scheme in "${input.trim()}": using ${base}.`);
    return base;
  } catch (err) {
    if (err instanceof BrokerUrlError) throw new UsageError(source ? `${source}: ${err.message}` : err.message, { cause: err });
    throw err;
  }
}
