// An invite link as people paste it: chat apps and mail clients wrap a link in quotes or angle
// brackets ("…", <…>, “…”), and a copied line brings white space. One matching pair around the
// link, and the white space around it, are not part of the link (src/client/invite-link.ts); the
// documented link (docs/protocol.md §11.8, e2e-invite-link) must read the same in every wrapping.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseInvite, type InvitePayload } from "../../src/client/invite-link.ts";
import { fencedBlocks } from "../helpers/markdown.ts";

const DOC = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
const block = fencedBlocks(DOC).find((b) => b.info === "json e2e-vector e2e-invite-link")!;
const x = JSON.parse(block.body) as { link: string; payload: InvitePayload; nowMs: number };
const https = `${x.payload.broker}/join#${x.link.slice("ic://join/".length)}`;

const read = (text: string) => {
  const { secret: _secret, ...payload } = parseInvite(text, x.nowMs);
  return payload;
};

describe("an invite link pasted with what chat and mail add around it", () => {
  const wrappings: [string, (l: string) => string][] = [
    ["double quotes", (l) => `"${l}"`],
    ["single quotes", (l) => `'${l}'`],
    ["back-quotes", (l) => `\`${l}\``],
    ["angle brackets", (l) => `<${l}>`],
    ["typographic quotes", (l) => `“${l}”`],
    ["typographic single quotes", (l) => `‘${l}’`],
    ["quotes and white space around them", (l) => `  \t"${l}"\n`],
    ["white space inside the brackets", (l) => `< ${l} >`],
  ];
  for (const [name, wrap] of wrappings) {
    test(`${name}: read as the link itself`, () => {
      expect(read(wrap(x.link))).toEqual(x.payload);
      expect(read(wrap(https))).toEqual(x.payload);
    });
  }

  test("an unmatched or doubled wrapping is still refused as not a link", () => {
    for (const text of [`"${x.link}`, `<${x.link}"`, `""${x.link}""`, `<<${x.link}>>`]) {
      expect(() => parseInvite(text, x.nowMs)).toThrow(expect.objectContaining({ code: "bad_invite", message: expect.stringContaining("could not be decoded") }));
    }
  });
});
