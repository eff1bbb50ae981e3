// How a joined mesh is named among the others (src/client/mesh-label.ts), by the CLI and the MCP
// tools alike: its slug; with another mesh of that slug, its broker's host; and when the hosts
// match too (one broker reached under two addresses that look alike), its id.
import { expect, test } from "bun:test";
import { meshChoice, meshLabel } from "../../src/client/mesh-label.ts";

const m = (meshId: string, slug: string, brokerUrl: string) => ({ meshId, slug, brokerUrl });
const a = m("idA", "ops", "http://127.0.0.1:7900");
const b = m("idB", "ops", "https://mesh.example.com");
const c = m("idC", "shop", "http://127.0.0.1:7900");
const d = m("idD", "ops", "http://127.0.0.1:7900/prefix");

test("a slug alone, unless another joined mesh has it", () => {
  expect([meshLabel([a, c], a), meshChoice([a, c], a)]).toEqual(["ops", "ops"]);
  expect([meshLabel([a, b, c], a), meshLabel([a, b, c], b), meshLabel([a, b, c], c)]).toEqual(["ops on 127.0.0.1:7900", "ops on mesh.example.com", "shop"]);
  expect([meshChoice([a, b, c], a), meshChoice([a, b, c], b), meshChoice([a, b, c], c)]).toEqual(["idA", "idB", "shop"]);
});

test("two of one slug on one host are named by their ids", () => {
  expect([meshLabel([a, d], a), meshLabel([a, d], d)]).toEqual(["ops (id idA)", "ops (id idD)"]);
});
