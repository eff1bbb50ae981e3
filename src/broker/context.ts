// Everything a broker instance owns, passed explicitly to handlers (no module singletons).
import type { BrokerConfig } from "../config/load.ts";
import type { Log } from "../log/log.ts";
import type { NewMessage, SendOutcome, Store } from "../store/types.ts";
import type { Batcher } from "./batcher.ts";
import type { Hub } from "./hub.ts";
import type { Metrics } from "./metrics.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { RosterCache } from "./roster.ts";

export type AckItem = { meshId: string; mailbox: string; messageIds: string[] };

export type BrokerContext = {
  readonly config: BrokerConfig;
  readonly store: Store;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly hub: Hub;
  readonly roster: RosterCache;
  readonly sendLimiter: RateLimiter;
  readonly sends: Batcher<NewMessage, SendOutcome>;
  readonly acks: Batcher<AckItem, number>;
  /** Distinguishes this process's connection ids from a previous run's. */
  readonly bootId: string;
  /** Wall clock in ms (injectable for tests). */
  readonly now: () => number;
  draining: boolean;
};
