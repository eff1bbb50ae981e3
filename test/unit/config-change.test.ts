// changeMesh (src/client/local/config-file.ts): a change to one mesh's entry is made on the entry
// as the file holds it, touches nothing else, keeps the entry's place in the list, and is nothing
// once the mesh is no longer joined (a `leave` by another process meanwhile).
import { expect, test } from "bun:test";
import { addMeshKeys, changeMesh, markRemoved, type LocalConfig, type MeshEntry } from "../../src/client/local/config-file.ts";

const entry = (meshId: string, extra: Partial<MeshEntry> = {}) => ({ meshId, slug: meshId, meshKeys: [{ epoch: 0, key: "k0" }], ...extra }) as MeshEntry;
const cfg = (...meshes: MeshEntry[]): LocalConfig => ({ version: 1, meshes });

test("only the edited entry changes, in its place; the edit sees the entry on disk", () => {
  const onDisk = cfg(entry("a"), entry("b", { removed: { keys: ["x"], invites: [], kept: [] } }), entry("c"));
  const seen: MeshEntry[] = [];
  const next = changeMesh("b", (e) => (seen.push(e), { ...e, displayName: "new" }))(onDisk);
  expect(seen).toEqual([onDisk.meshes[1]!]);
  expect(next).toEqual(cfg(entry("a"), entry("b", { removed: { keys: ["x"], invites: [], kept: [] }, displayName: "new" }), entry("c")));
  expect(next!.meshes[0]).toBe(onDisk.meshes[0]!);
});

test("nothing when the mesh is gone or the edit returns null", () => {
  expect(changeMesh("gone", (e) => ({ ...e, displayName: "x" }))(cfg(entry("a")))).toBeNull();
  expect(markRemoved("gone")(cfg(entry("a")))).toBeNull();
  expect(addMeshKeys("gone", [{ epoch: 1, key: "k1" }])(cfg(entry("a")))).toBeNull();
  expect(markRemoved("a")(cfg(entry("a", { removedAt: 5 })))).toBeNull();
});

test("markRemoved and addMeshKeys keep the entry where it was", () => {
  const marked = markRemoved("a")(cfg(entry("a"), entry("b")))!;
  expect(marked.meshes.map((m) => [m.meshId, typeof m.removedAt])).toEqual([["a", "number"], ["b", "undefined"]]);
  const keyed = addMeshKeys("a", [{ epoch: 1, key: "k1" }])(cfg(entry("a"), entry("b")))!;
  expect(keyed.meshes.map((m) => [m.meshId, m.meshKeys.length])).toEqual([["a", 2], ["b", 1]]);
});
