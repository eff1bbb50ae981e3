// This machine's memory of a broker older than the hello's `events` field (src/client/events-
// memory.ts): trusted for an hour, for that broker URL only, not across a clock set back; kept in
// config.json, where a damaged value is refused naming the field.
import { expect, test } from "bun:test";
import { EVENTS_REFUSED_TTL_MS, eventsRefusedLately, recordEventsRefused } from "../../src/client/events-memory.ts";
import { parseConfig } from "../../src/client/local/config-file.ts";
import { meshEntry } from "../helpers/mesh-entry.ts";

const URL = "http://127.0.0.1:7900";
const entry = meshEntry;

test("a refusal noted is trusted for an hour, for the broker URL it was seen at", () => {
  const t = 1_800_000_000_000;
  const noted = recordEventsRefused("mesh_a", URL, t)({ version: 1, meshes: [entry] })!.meshes[0]!;
  expect(noted.eventsRefused).toEqual({ brokerUrl: URL, at: t });
  expect(eventsRefusedLately(noted, URL, t)).toBe(true);
  expect(eventsRefusedLately(noted, URL, t + EVENTS_REFUSED_TTL_MS - 1)).toBe(true);
  expect(eventsRefusedLately(noted, URL, t + EVENTS_REFUSED_TTL_MS)).toBe(false);
  // Another broker (set-broker moved the mesh), no note, or a clock set back past it: ask again.
  expect(eventsRefusedLately(noted, "https://mesh.example.com", t)).toBe(false);
  expect(eventsRefusedLately(entry, URL, t)).toBe(false);
  expect(eventsRefusedLately(undefined, URL, t)).toBe(false);
  expect(eventsRefusedLately(noted, URL, t - 1)).toBe(false);
});

test("config.json keeps the note, and refuses a damaged one naming the field", () => {
  const source = { name: "config.json", fix: null };
  const cfg = (e: unknown) => JSON.stringify({ version: 1, meshes: [e] });
  expect(parseConfig(cfg({ ...entry, eventsRefused: { brokerUrl: URL, at: 5 } }), source).meshes[0]!.eventsRefused).toEqual({ brokerUrl: URL, at: 5 });
  for (const bad of [7, null, { brokerUrl: URL }, { brokerUrl: 1, at: 5 }, { brokerUrl: URL, at: 1.5 }]) {
    expect(() => parseConfig(cfg({ ...entry, eventsRefused: bad }), source)).toThrow("meshes[0].eventsRefused is missing or invalid");
  }
});
