// Prometheus series (the seeds' names), one registry per broker instance so that several brokers
// in one test process do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { VERSION } from "../version.ts";

export type Metrics = ReturnType<typeof createMetrics>;

/** The labels of broker_messages_rejected_total for a refusal: its code, and for a rate limit the
 *  limit that refused it (MeshError.limit). */
export const rejectedLabels = (e: { code: string; limit?: string | undefined }) => ({ reason: e.code, ...(e.limit !== undefined ? { limit: e.limit } : {}) });

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "broker_" });
  const r = [registry];
  const metrics = {
    registry,
    connectionsTotal: new Counter({ name: "broker_connections_total", help: "Authenticated connections accepted.", registers: r }),
    connectionsRejected: new Counter({ name: "broker_connections_rejected_total", help: "Connections closed during or before the hello, by reason.", labelNames: ["reason"], registers: r }),
    connectionsClosed: new Counter({ name: "broker_connections_closed_total", help: "Authenticated connections the broker closed, by reason (stale, attestation_expired, kicked, banned, left, session_ended, session_replaced, too_many_queued_frames, shutting_down).", labelNames: ["reason"], registers: r }),
    connectionsActive: new Gauge({ name: "broker_connections_active", help: "Authenticated connections open now.", registers: r }),
    messagesRouted: new Counter({ name: "broker_messages_routed_total", help: "Messages accepted and committed, by priority.", labelNames: ["priority"], registers: r }),
    messagesRejected: new Counter({ name: "broker_messages_rejected_total", help: "Frames or sends refused, by reason (error code); for rate_limited also by limit (send, status, change, frames, unsent).", labelNames: ["reason", "limit"], registers: r }),
    messagesDroppedByGrant: new Counter({ name: "broker_messages_dropped_by_grant_total", help: "Recipients skipped because they did not grant the capability.", labelNames: ["cap"], registers: r }),
    queueRefused: new Counter({ name: "broker_queue_refused_total", help: "Queue entries a send did not get because a bound was reached, by bound (mailbox: queueQuota; sender: queueSenderShare; mesh: meshQueueQuota; broker: brokerQueueQuota).", labelNames: ["bound"], registers: r }),
    messagesDelivered: new Counter({ name: "broker_messages_delivered_total", help: "Queue entries acknowledged by their recipient, by kind (message: a member's message; notice: the broker's expiry notice, read by the sender it was for).", labelNames: ["kind"], registers: r }),
    messagesExpired: new Counter({ name: "broker_messages_expired_total", help: "Queue entries dropped at their TTL, by kind (message: a member's message nobody read; notice: the broker's expiry notice its sender never came back for).", labelNames: ["kind"], registers: r }),
    queueDepth: new Gauge({ name: "broker_queue_depth", help: "Queue entries waiting for acknowledgement.", registers: r }),
    hookRequests: new Counter({ name: "broker_hook_requests_total", help: "POST /hook/set-status requests, by outcome.", labelNames: ["outcome"], registers: r }),
    dbHealthy: new Gauge({ name: "broker_db_healthy", help: "1 when the last database probe could write, else 0.", registers: r }),
    walFlushSeconds: new Histogram({ name: "broker_wal_flush_seconds", help: "How long each fdatasync of the SQLite WAL took (synchronous full): every answer about a write waits for one.", buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r }),
    walCheckpoints: new Counter({ name: "broker_wal_checkpoints_total", help: "Checkpoints of the SQLite WAL by the background thread, by result (ok; busy: held back by another checkpoint or a reader, retried; failed).", labelNames: ["result"], registers: r }),
    idleCollections: new Counter({ name: "broker_idle_collections_total", help: "Full garbage collections run because the broker was idle after a burst (idle-collect.ts).", registers: r }),
    unsentBytes: new Gauge({ name: "broker_unsent_bytes", help: "Bytes written to authenticated connections and not yet taken by the kernel, all connections together (refreshed on scrape).", registers: r }),
    connectionsPaused: new Gauge({ name: "broker_connections_paused", help: "Authenticated connections the broker is not reading because their client left 2 MiB of output unread (refreshed on scrape).", registers: r }),
    addressUnsentCapped: new Counter({ name: "broker_address_unsent_capped_total", help: "Times a connection was held to its share of its client address's maxUnsentPerIp, by action (paused: its frames wait and its socket is not read; refused: an answer larger than its share was answered rate_limited instead).", labelNames: ["action"], registers: r }),
    connectionPaces: new Counter({ name: "broker_connection_paces_total", help: "Times a connection's next frame waited until its frame allowance (requestRate, requestBurst) had a token again.", registers: r }),
    commitBatchSize: new Gauge({ name: "broker_commit_batch_size", help: "Writes (sends and acks) in the most recent group commit.", registers: r }),
    backups: new Counter({ name: "broker_backups_total", help: "Scheduled backups (backupEvery) by outcome (ok: checked and in place; failed: logged at error with its fix, earlier backups kept, tried again an interval later).", labelNames: ["outcome"], registers: r }),
    backupLastSuccess: new Gauge({ name: "broker_backup_last_success_timestamp_seconds", help: "Unix time of the newest scheduled backup in <dataDir>/backups (read from its name at start, then set by each success); 0 while there is none.", registers: r }),
    portSharers: new Gauge({ name: "broker_port_sharers", help: "Sockets of other processes listening on the broker's TLS port beside it (SO_REUSEPORT), each taking a share of its new connections; looked at every 10 s and at each SIGHUP, on Linux. Anything but 0 is a fault.", registers: r }),
    buildInfo: new Gauge({ name: "broker_build_info", help: "Always 1; its label is the claudemesh version serving.", labelNames: ["version"], registers: r }),
  };
  metrics.buildInfo.set({ version: VERSION }, 1);
  // Both kinds from the start, as the unlabelled series were: a rate over either begins at 0.
  for (const kind of ["message", "notice"]) for (const c of [metrics.messagesDelivered, metrics.messagesExpired]) c.inc({ kind }, 0);
  for (const outcome of ["ok", "failed"]) metrics.backups.inc({ outcome }, 0);
  for (const action of ["paused", "refused"]) metrics.addressUnsentCapped.inc({ action }, 0);
  // Each ack counts here: the series bound once, so an increment builds no label key.
  const delivered = { message: metrics.messagesDelivered.labels({ kind: "message" }), notice: metrics.messagesDelivered.labels({ kind: "notice" }) };
  return { ...metrics, delivered };
}
