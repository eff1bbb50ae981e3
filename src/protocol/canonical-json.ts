// Canonical JSON for hashing (audit chain): RFC 8785 (JCS) for every I-JSON value, checked against
// its reference implementation (test/unit/canonical-json-rfc8785.test.ts). Object keys sorted by
// UTF-16 code units, arrays keep their order, strings and numbers serialised as ECMAScript
// JSON.stringify does. Anything JSON has no text for (non-finite numbers, undefined, functions, a
// hole in an array, a Date, Map or other non-plain object) is refused, never dropped or
// converted, so two different payloads can never hash alike. A lone surrogate, which RFC 8785
// refuses, is written as its \u escape as JSON.stringify writes it (docs/protocol.md §9.2).

export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

const MAX_DEPTH = 64;

function encode(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new TypeError("canonicalJson: nesting too deep");
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
      return JSON.stringify(value);
    case "object": {
      // Array.from reads a hole as undefined, which is refused below.
      if (Array.isArray(value)) return `[${Array.from(value, (v) => encode(v, depth + 1)).join(",")}]`;
      // JSON.parse makes plain objects; anything else would be read as its own keys ({} for a Date).
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`canonicalJson: cannot encode a ${value.constructor?.name ?? "non-plain object"}`);
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) parts.push(`${JSON.stringify(k)}:${encode(obj[k], depth + 1)}`);
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}
