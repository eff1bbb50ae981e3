// Everything a broker instance owns, passed explicitly to handlers (no module singletons).
import type { BrokerConfig } from "../config/load.ts";
import type { AuditVerifier } from "./audit-verifier.ts";
import type { Log } from "../log/log.ts";
import type { Store } from "../store/types.ts";
import type { FailureLog } from "./failure-log.ts";
import type { GroupCommit } from "./group-commit.ts";
import type { Hub } from "./hub.ts";
import type { IdleCollector } from "./idle-collect.ts";
import type { Metrics } from "./metrics.ts";
import type { RefusalLog } from "./refusal-log.ts";
import type { SendRefusalLog } from "./send-refusal-log.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { RosterCache } from "./roster.ts";
import type { Settings } from "./settings.ts";

export type BrokerContext = {
  /** The settings in force (settings.current): read where a value is used, never kept, since a
   *  SIGHUP may change the live ones. */
  readonly config: BrokerConfig;
  /** Owns the settings in force and puts a reload's changes in force (settings.ts). */
  readonly settings: Settings;
  readonly store: Store;
  readonly log: Log;
  /** Storage failures answered as `unavailable`, logged at a bounded rate. */
  readonly failures: FailureLog;
  /** Refused handshakes, logged at a bounded rate. */
  readonly refusals: RefusalLog;
  /** Refused sends and requests (queue bounds, rate limits) and expiries, logged at a bounded rate per mesh. */
  readonly sendRefusals: SendRefusalLog;
  readonly metrics: Metrics;
  readonly hub: Hub;
  readonly roster: RosterCache;
  readonly sendLimiter: RateLimiter;
  /** Requests that write an audit entry, per member (handlers/index.ts admitRequest). */
  readonly changeLimiter: RateLimiter;
  /** Status and summary changes, per member, whatever carried them (handlers/index.ts admitRequest). */
  readonly statusLimiter: RateLimiter;
  /** Sessions started (a session_hello of a new or ended session key), per member (ws/session.ts). */
  readonly sessionStarts: RateLimiter;
  /** Frames per connection, keyed by connection id: requests other than the sends and acks that
   *  move messages, and refusals (ws/session.ts). Spent, it is waited out (ws/frame-line.ts), the
   *  socket read meanwhile only up to a bound. */
  readonly frameAllowance: RateLimiter;
  /** Checks a mesh's audit chain in pages, sharing and remembering walks. */
  readonly audit: AuditVerifier;
  /** Sends and acks, written in one transaction per turn. */
  readonly writes: GroupCommit;
  /** Collects the heap once after a burst, when the broker is idle (idle-collect.ts). */
  readonly idle: IdleCollector;
  /** Distinguishes this process's connection ids from a previous run's. */
  readonly bootId: string;
  /** Wall clock in ms (injectable for tests). */
  readonly now: () => number;
  draining: boolean;
};
