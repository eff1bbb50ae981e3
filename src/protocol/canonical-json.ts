// Canonical JSON for hashing (audit chain). Object keys sorted by UTF-16 code units, arrays keep
// their order, strings and numbers serialised as ECMAScript JSON.stringify does (RFC 8785 for the
// values we store). Non-finite numbers, undefined and functions are refused, never dropped, so two
// different payloads can never hash alike by silently losing a field.

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
      if (Array.isArray(value)) return `[${value.map((v) => encode(v, depth + 1)).join(",")}]`;
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
