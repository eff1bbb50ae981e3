// The settings in force in a running broker, and the one way they change: a SIGHUP's reading of
// the config file (cli/serve-reload.ts) hands apply() the config read, and every setting a running
// broker can take (spec.ts `sighup: "live"`) is put in force at once; the others keep the value the
// broker started with and wait for a restart.
//
// Everything reads a setting through ctx.config when it uses it (a cap, a quota, a duration), so a
// value put in force counts from the next frame, request or timer round. A component that built
// state from a value, a token bucket's rate and size, follows the keys it built from and is told
// in the same turn (follow). Nothing runs between the first change and the last: no frame, request
// or timer ever sees some of a file's changes and not the others.
import type { BrokerConfig } from "../config/load.ts";
import { settingChanges, type SettingChange } from "../config/changes.ts";
import type { SettingKey } from "../config/spec.ts";

type Follower = { keys: readonly SettingKey[]; put: (inForce: BrokerConfig) => void };

export class Settings {
  private inForce: BrokerConfig;
  private readonly followers: Follower[] = [];

  constructor(start: BrokerConfig) {
    this.inForce = start;
  }

  /** The settings in force now (frozen; a new object after each apply that changed one). */
  get current(): BrokerConfig {
    return this.inForce;
  }

  /** Calls `put` with the settings in force whenever apply changes one of `keys`, within apply.
   *  `put` adjusts state built from them (it must not throw, and must not wait). */
  follow(keys: readonly SettingKey[], put: (inForce: BrokerConfig) => void): void {
    this.followers.push({ keys, put });
  }

  /** What `next` gives differently from the settings in force: what apply would put in force
   *  (`live`), and what waits for a restart. */
  changes(next: BrokerConfig): { live: SettingChange[]; restart: SettingChange[] } {
    return settingChanges(this.inForce, next);
  }

  /** Puts in force, together, every change of `next` a running broker can take (changes().live),
   *  and tells the followers of those keys; the settings that take a restart keep their values.
   *  Returns the changes put in force (values as a log may show them). */
  apply(next: BrokerConfig): SettingChange[] {
    const { live } = this.changes(next);
    if (live.length === 0) return [];
    const was = this.inForce;
    const now: Record<string, unknown> = { ...was };
    for (const c of live) now[c.key] = next[c.key];
    this.inForce = Object.freeze(now) as BrokerConfig;
    for (const f of this.followers) if (f.keys.some((k) => was[k] !== this.inForce[k])) f.put(this.inForce);
    return live;
  }
}
