// This machine's memory of what a broker refused as older than this client (src/client/refusal-
// memory.ts): the hello's `events` field and the lookups, each trusted for an hour, for that broker
// URL only, not across a clock set back; kept in config.json, where a damaged note is dropped (the
// command asks again) rather than the whole file refused.
import { expect, test } from "bun:test";
import { REFUSAL_TTL_MS, recordRefusal, refusalNoted, refusedLately } from "../../src/client/refusal-memory.ts";
import { BrokerRefusals, type Refusable } from "../../src/client/broker-refusals.ts";
import { parseConfig } from "../../src/client/local/config-file.ts";
import { meshEntry } from "../helpers/mesh-entry.ts";

const URL = "http://127.0.0.1:7900";
const entry = meshEntry;
const t = 1_800_000_000_000;

test("a refusal noted is trusted for an hour, for the broker URL it was seen at", () => {
  for (const what of ["events", "lookups"] as const) {
    const noted = recordRefusal("mesh_a", what, URL, t)({ version: 1, meshes: [entry] })!.meshes[0]!;
    expect(noted[what === "events" ? "eventsRefused" : "lookupsRefused"]).toEqual({ brokerUrl: URL, at: t });
    expect(refusalNoted(noted, what, URL, t)).toBe(true);
    expect(refusalNoted(noted, what, URL, t + REFUSAL_TTL_MS - 1)).toBe(true);
    expect(refusalNoted(noted, what, URL, t + REFUSAL_TTL_MS)).toBe(false);
    // Another broker (set-broker moved the mesh), no note, or a clock set back past it: ask again.
    expect(refusalNoted(noted, what, "https://mesh.example.com", t)).toBe(false);
    expect(refusalNoted(entry, what, URL, t)).toBe(false);
    expect(refusalNoted(undefined, what, URL, t)).toBe(false);
    expect(refusalNoted(noted, what, URL, t - 1)).toBe(false);
  }
});

test("each refusal is noted apart: one can be older than the hour while the other is not", () => {
  const both = recordRefusal("mesh_a", "lookups", URL, t)(recordRefusal("mesh_a", "events", URL, t - REFUSAL_TTL_MS)({ version: 1, meshes: [entry] })!)!.meshes[0]!;
  expect(refusedLately(both, URL, t)).toEqual(["lookups"]);
  expect(refusedLately(both, URL, t - 1)).toEqual(["events"]);
  expect(refusedLately(both, URL, t - REFUSAL_TTL_MS - 1)).toEqual([]);
});

test("config.json keeps the notes (a session-36 eventsRefused as it was written), and drops a damaged one rather than refuse the file", () => {
  const source = { name: "config.json", fix: null };
  const cfg = (e: unknown) => JSON.stringify({ version: 1, meshes: [e] });
  const kept = parseConfig(cfg({ ...entry, eventsRefused: { brokerUrl: URL, at: 5 }, lookupsRefused: { brokerUrl: URL, at: 6 } }), source).meshes[0]!;
  expect([kept.eventsRefused, kept.lookupsRefused]).toEqual([{ brokerUrl: URL, at: 5 }, { brokerUrl: URL, at: 6 }]);
  for (const bad of [7, null, "x", [], { brokerUrl: URL }, { brokerUrl: 1, at: 5 }, { brokerUrl: URL, at: 1.5 }, { brokerUrl: URL, at: "5" }]) {
    const read = parseConfig(cfg({ ...entry, eventsRefused: bad, lookupsRefused: { brokerUrl: URL, at: 6 } }), source).meshes[0]!;
    expect(read).toEqual({ ...entry, lookupsRefused: { brokerUrl: URL, at: 6 } });
    expect(refusedLately(read, URL, 7)).toEqual(["lookups"]);
    expect(parseConfig(cfg({ ...entry, lookupsRefused: bad }), source).meshes[0]!).toEqual(entry);
  }
});

test("what the memory says holds for the first connection; a reconnect asks again; each refusal is told once per connection", () => {
  const told: Refusable[] = [];
  const r = new BrokerRefusals(["lookups"], (what) => told.push(what));
  r.opening();
  expect([r.refuses("lookups"), r.refuses("events")]).toEqual([true, false]);
  r.refused("events"); // the first hello refused for the field: said again on a new socket
  r.opening();
  r.connected();
  expect([r.refuses("lookups"), r.refuses("events")]).toEqual([true, true]);
  expect(told).toEqual(["events"]);
  r.opening(); // a reconnect: the broker may have been upgraded meanwhile
  r.connected();
  expect([r.refuses("lookups"), r.refuses("events")]).toEqual([false, false]);
  r.refused("lookups");
  r.refused("lookups"); // two lookups under way at once: one refusal told
  expect(told).toEqual(["events", "lookups"]);
  expect(r.refuses("lookups")).toBe(true);
});
