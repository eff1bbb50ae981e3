// This machine's memory that a mesh's broker refused the hello's `events` field (docs/protocol.md
// §4.3.1): a broker older than the field, which takes the hello only when it is said again without
// it. A one-shot command that said it with the field every time paid one more connection per
// command for as long as the broker stayed older (+310 ms of a 500 ms `claudemesh peers` at a
// 100 ms round trip, measured against the previous day's broker): members whose laptops upgrade
// before their team's broker (brew, install.sh) paid it on every command. So the CLI notes the
// refusal in the mesh's config entry, and for an hour its one-shot commands to that broker leave
// the field out from their first hello. A command that stays connected (`inbox --follow`) and the
// MCP server still ask at each connection: they live for hours, and a broker upgraded meanwhile
// (a restart, which they reconnect after) would otherwise send them every presence change. After
// the hour the next command asks again: an upgraded broker takes the field, an older one costs
// that command the extra connection and the memory another hour. A one-shot command that left the
// field out of an upgraded broker's hello is sent every event for the second it lives, which
// costs that broker little; the long-lived listeners, where the cost was, are not affected.
import { changeMesh, type ConfigChange, type MeshEntry } from "./local/config-file.ts";

/** How long a noted refusal is trusted: the extra connection is paid once an hour per mesh, and a
 *  broker upgraded meanwhile gets the field back within the hour. */
export const EVENTS_REFUSED_TTL_MS = 60 * 60 * 1000;

/** Whether `entry`'s broker at `url` (an http(s) base) refused the field within the hour by the
 *  wall clock `now`; not after a clock set back past the note (then the field is asked for). */
export function eventsRefusedLately(entry: MeshEntry | undefined, url: string, now: number): boolean {
  const noted = entry?.eventsRefused;
  return noted !== undefined && noted.brokerUrl === url && now >= noted.at && now - noted.at < EVENTS_REFUSED_TTL_MS;
}

/** Notes that mesh `meshId`'s broker at `url` refused the field at `now`. */
export const recordEventsRefused = (meshId: string, url: string, now: number): ConfigChange =>
  changeMesh(meshId, (e) => ({ ...e, eventsRefused: { brokerUrl: url, at: now } }));
