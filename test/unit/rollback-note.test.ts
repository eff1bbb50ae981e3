// The broker-epoch record behind the CLI's rollback note (src/client/rollback-note.ts) and its
// place in config.json: what is remembered, when the note is due, and a damaged value refused.
import { describe, expect, test } from "bun:test";
import { epochIsNew, recordEpoch } from "../../src/client/rollback-note.ts";
import { parseConfig, type LocalConfig, type MeshEntry } from "../../src/client/local/config-file.ts";
import { meshEntry } from "../helpers/mesh-entry.ts";

const entry = meshEntry;
const cfg = (e: MeshEntry): LocalConfig => ({ version: 1, meshes: [e] });

describe("broker epochs", () => {
  test("only a well-formed epoch other than the saved one is new", () => {
    expect(epochIsNew(entry, "kR-hrlX3vj-05_dMHfHtQA")).toBe(true);
    expect(epochIsNew({ ...entry, brokerEpoch: "kR-hrlX3vj-05_dMHfHtQA" }, "kR-hrlX3vj-05_dMHfHtQA")).toBe(false);
    expect(epochIsNew(entry, undefined)).toBe(false);
    expect(epochIsNew(undefined, "kR-hrlX3vj-05_dMHfHtQA")).toBe(false);
    for (const odd of ["", "x".repeat(65), "a b", "ä"]) expect(epochIsNew(entry, odd)).toBe(false);
  });

  test("recording tells of the epoch replaced, never of the first or the same", () => {
    const told: string[] = [];
    const first = recordEpoch("mesh_a", "one", (b) => told.push(b))(cfg(entry))!;
    expect(first.meshes[0]!.brokerEpoch).toBe("one");
    expect(recordEpoch("mesh_a", "one", (b) => told.push(b))(first)).toBeNull();
    expect(told).toEqual([]);
    expect(recordEpoch("mesh_a", "two", (b) => told.push(b))(first)!.meshes[0]!.brokerEpoch).toBe("two");
    expect(told).toEqual(["one"]);
    expect(recordEpoch("mesh_gone", "two", (b) => told.push(b))(first)).toBeNull();
  });

  test("config.json with a damaged brokerEpoch is refused, naming the field", () => {
    const source = { name: "config.json", fix: null };
    expect(parseConfig(JSON.stringify(cfg({ ...entry, brokerEpoch: "kR-hrlX3vj-05_dMHfHtQA" })), source).meshes[0]!.brokerEpoch).toBe("kR-hrlX3vj-05_dMHfHtQA");
    for (const bad of [7, "", "x".repeat(65)]) expect(() => parseConfig(JSON.stringify(cfg({ ...entry, brokerEpoch: bad as string })), source)).toThrow("meshes[0].brokerEpoch is missing or invalid");
  });
});
