// This machine's memory of what a mesh's broker refused as one older than this client does
// (broker-refusals.ts): the hello's `events` field (docs/protocol.md §4.3.1), which such a broker
// takes only when the hello is said again without it, and the `peer_lookup`/`member_lookup`
// requests (§4.3.28-29), after whose refusal the client reads `list_peers` and `member_list` whole.
// Each is paid again by every one-shot command, since each is a new process: one more connection
// per command for the field (+310 ms of a 500 ms `claudemesh peers` at a 100 ms round trip,
// measured against the previous day's broker), one more round trip per `send` for the lookups.
// Members whose laptops upgrade before their team's broker (brew, install.sh) paid it on every
// command. So the CLI notes a refusal in the mesh's config entry, and for an hour its one-shot
// commands to that broker do without from their first connection. A command that stays connected
// (`inbox --follow`) and the MCP server still ask at each connection: they live for hours, and a
// broker upgraded meanwhile (a restart, which they reconnect after) would otherwise send them
// every presence change. After the hour the next command asks again: an upgraded broker takes it,
// an older one costs that command the extra connection or round trip and the memory another hour.
// A one-shot command that left the field out of an upgraded broker's hello is sent every event for
// the second it lives, and one that read the lists whole reads a few KB more in a small mesh; the
// long-lived clients, where those costs would add up, are not affected.
import { changeMesh, type ConfigChange, type MeshEntry, type RefusalNoteField } from "./local/config-file.ts";
import type { Refusable } from "./broker-refusals.ts";

/** How long a noted refusal is trusted: the extra connection or round trip is paid once an hour
 *  per mesh, and a broker upgraded meanwhile is asked again within the hour. */
export const REFUSAL_TTL_MS = 60 * 60 * 1000;

/** Where each refusal is noted in a mesh's config entry (`eventsRefused` since session 36). */
const NOTE: Record<Refusable, RefusalNoteField> = { events: "eventsRefused", lookups: "lookupsRefused" };

/** Whether `entry`'s broker at `url` (an http(s) base) refused `what` within the hour by the wall
 *  clock `now`; not after a clock set back past the note (then it is asked again). */
export function refusalNoted(entry: MeshEntry | undefined, what: Refusable, url: string, now: number): boolean {
  const noted = entry?.[NOTE[what]];
  return noted !== undefined && noted.brokerUrl === url && now >= noted.at && now - noted.at < REFUSAL_TTL_MS;
}

/** Everything `entry`'s broker at `url` refused within the hour (ClientOptions.refusedLately). */
export const refusedLately = (entry: MeshEntry | undefined, url: string, now: number): Refusable[] =>
  (Object.keys(NOTE) as Refusable[]).filter((what) => refusalNoted(entry, what, url, now));

/** Notes that mesh `meshId`'s broker at `url` refused `what` at `now`. */
export const recordRefusal = (meshId: string, what: Refusable, url: string, now: number): ConfigChange =>
  changeMesh(meshId, (e) => ({ ...e, [NOTE[what]]: { brokerUrl: url, at: now } }));
