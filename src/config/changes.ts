// What a SIGHUP's second reading of the config gives a running broker (cli/serve-reload.ts): the
// settings whose value changed, told apart into those the broker puts in force at once and those
// that wait for a restart. Nothing changed is ever dropped without a word: each is one or the other.
import type { BrokerConfig } from "./load.ts";
import { shownUrl } from "../shown-url.ts";
import { SETTINGS, type SettingKey } from "./spec.ts";

/** Settings a running broker puts in force on SIGHUP (spec.ts `sighup: "live"`): the limits, rates,
 *  quotas and durations read where they are used (broker/settings.ts), the certificate and key files
 *  (served by a new listener, broker/listener.ts) and logLevel. The others are fixed where the broker
 *  was built (the listening socket, the store, what each connection was told in its hello_ack) and
 *  take a restart. */
export const LIVE_SETTINGS: readonly SettingKey[] = SETTINGS.filter((s) => s.sighup === "live").map((s) => s.key);

/** A setting whose value differs: the value in force and the one read now, as a log may show them
 *  (a URL without a user and password). */
export type SettingChange = { key: SettingKey; inForce: unknown; file: unknown };

/** The settings `next` gives differently from `inForce`, in the order of SETTINGS, split into
 *  those a running broker can put in force (`live`) and those that wait for a restart. Turning TLS
 *  on or off is a restart: the scheme of every URL the broker gives changes, and the listening
 *  socket's options with it. */
export function settingChanges(inForce: BrokerConfig, next: BrokerConfig): { live: SettingChange[]; restart: SettingChange[] } {
  const tlsSwitched = (inForce.tlsCert === "") !== (next.tlsCert === "");
  const live: SettingChange[] = [];
  const restart: SettingChange[] = [];
  for (const { key, kind } of SETTINGS) {
    const [was, now] = [inForce[key], next[key]];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const shown = (v: unknown) => (kind.type === "url" && typeof v === "string" && v !== "" ? shownUrl(v) : v);
    const change = { key, inForce: shown(was), file: shown(now) };
    (LIVE_SETTINGS.includes(key) && !(tlsSwitched && (key === "tlsCert" || key === "tlsKey")) ? live : restart).push(change);
  }
  return { live, restart };
}
