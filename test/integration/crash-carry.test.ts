// Presences across a broker killed with SIGKILL (docs/decisions.md, Session 35: presences survive
// an unclean stop): a real `serve`, real clients (src/client) reconnecting by themselves. The
// running broker snapshots its presences; the next start takes the latest snapshot in, each
// presence for what is left of its grace counted from when the snapshot was last known true.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { tempDir } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { openSqliteStore } from "../../src/store/sqlite/store.ts";
import { serveProcess, spawnBroker, type ServeProcess } from "../helpers/process.ts";
import { backSince, closeAll, connectAll, crowd, type CrowdClient } from "../helpers/storm.ts";
import { until } from "../helpers/until.ts";

type Snapshot = { takenAt?: number; presences: { identity: { pubkey: string }; status: string }[] };

/** The presence record in the broker's database as it is now (read while the broker runs). */
function recordIn(dataDir: string): Snapshot | null {
  const db = new Database(join(dataDir, "claudemesh.db"), { readonly: true });
  try {
    const text = db.query<{ value: string }, []>("SELECT value FROM broker_meta WHERE key = 'carried_presences'").get()?.value;
    return text ? (JSON.parse(text) as Snapshot) : null;
  } finally {
    db.close();
  }
}

/** Waits until a snapshot lists each of `want` (pubkey → status). */
const snapshotHolds = (dataDir: string, want: Record<string, string>) =>
  until(
    () => {
      const r = recordIn(dataDir);
      return r?.takenAt !== undefined && Object.entries(want).every(([k, s]) => r.presences.some((p) => p.identity.pubkey === k && p.status === s));
    },
    "a snapshot of the presences",
    10_000,
  );

/** `serve` again on the port and data directory of the one killed. */
async function startAgain(dataDir: string, port: string, grace: string): Promise<ServeProcess> {
  const serve = serveProcess(["--port", port, "--data-dir", dataDir, "--presence-grace", grace], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  await serve.waitFor(/"msg":"broker listening"/);
  return serve;
}

const carriedLine = (serve: ServeProcess) => /"msg":"presences carried over from the last snapshot before an unclean stop"[^\n]*"carried":(\d+)/.exec(serve.stderr());
const heard = (cs: readonly CrowdClient[], event: string) => cs.flatMap((c) => c.events.filter((e) => e.event === event).map((e) => e.data.pubkey as string));

describe("presences across a broker killed with SIGKILL", () => {
  test("a session back within the grace re-attaches silently and stays working; one that stays away is announced gone after the grace", async () => {
    const dataDir = tempDir("cm-crash-carry-");
    const first = await spawnBroker(dataDir, ["--presence-grace", "15s"]);
    const port = new URL(first.url).port;
    const { owner } = await createTestMesh(first.url);
    const clients = await crowd(first.url, owner, 2, 2);
    const [busy, leaver, ...rest] = clients as [CrowdClient, CrowdClient, ...CrowdClient[]];
    let again: ServeProcess | null = null;
    try {
      connectAll(clients);
      await until(() => backSince(clients, 0).length === clients.length, "4 sessions connected");
      await busy.client.request("set_status", { status: "working" });
      await snapshotHolds(dataDir, { [busy.pubkey]: "working", [leaver.pubkey]: "idle" });
      for (const c of clients) c.events.length = 0;

      const killed = performance.now();
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      leaver.client.close(); // its process ended while no broker ran
      again = await startAgain(dataDir, port, "15s");
      const back = [busy, ...rest];
      await until(() => backSince(back, killed).length === back.length, "every other session back", 30_000);
      const peers = (await rest[0]!.client.request("list_peers", {})).peers;
      await until(() => heard(rest, "peer_left").includes(leaver.pubkey), "peer_left for the session that stayed away", 20_000);
      expect({
        carried: carriedLine(again) !== null,
        joined: heard(clients, "peer_joined"),
        // (The owner's own connection, which made the invites, may still have been in its grace.)
        left: [...new Set(heard(clients, "peer_left"))].filter((k) => k !== owner.keys.publicKey),
        busy: peers.find((p) => p.pubkey === busy.pubkey)?.status,
        online: peers.filter((p) => p.online && p.kind === "session").length,
      }).toEqual({ carried: true, joined: [], left: [leaver.pubkey], busy: "working", online: 3 });
    } finally {
      closeAll(clients);
      await again?.[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
    }
  }, 90_000);

  test("a snapshot older than the grace carries nothing: everyone back is announced again", async () => {
    const dataDir = tempDir("cm-crash-stale-");
    const first = await spawnBroker(dataDir, ["--presence-grace", "3s"]);
    const port = new URL(first.url).port;
    const { owner } = await createTestMesh(first.url);
    const clients = await crowd(first.url, owner, 2, 1);
    const [a, b] = clients as [CrowdClient, CrowdClient];
    let again: ServeProcess | null = null;
    try {
      connectAll(clients);
      await until(() => backSince(clients, 0).length === 2, "2 sessions connected");
      await snapshotHolds(dataDir, { [a.pubkey]: "idle", [b.pubkey]: "idle" });
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      for (const c of clients) c.events.length = 0;
      const killed = performance.now();
      await Bun.sleep(3_500); // longer than the grace, past the snapshot's last note
      again = await startAgain(dataDir, port, "3s");
      await until(() => backSince(clients, killed).length === 2, "both sessions back", 30_000);
      // The second one back is announced to the first.
      await until(() => heard([a], "peer_joined").includes(b.pubkey) || heard([b], "peer_joined").includes(a.pubkey), "a join announced", 10_000);
      expect(carriedLine(again)).toBeNull();
    } finally {
      closeAll(clients);
      await again?.[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
    }
  }, 60_000);

  test("a member removed while no broker ran is not carried", async () => {
    const dataDir = tempDir("cm-crash-removed-");
    const first = await spawnBroker(dataDir, ["--presence-grace", "15s"]);
    const port = new URL(first.url).port;
    const { owner } = await createTestMesh(first.url);
    // The owner stays connected throughout, so its presence is never one in its grace.
    const stays = await connect(first.url, owner);
    const [removed] = (await crowd(first.url, owner, 1, 1)) as [CrowdClient];
    let again: ServeProcess | null = null;
    try {
      connectAll([removed]);
      await until(() => backSince([removed], 0).length === 1, "the session connected");
      await snapshotHolds(dataDir, { [owner.keys.publicKey]: "idle", [removed.pubkey]: "idle" });
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      removed.client.close();
      // Removed by the store's own path (table and audit chain), as a restore or repair could.
      const store = await openSqliteStore({ dataDir, synchronous: "full" });
      const { memberId } = (await store.getSession(owner.meshId, removed.pubkey))!;
      await store.revokeMember(owner.meshId, memberId, { actor: owner.memberId, ban: false, reason: null, self: false });
      store.close();
      stays.events.length = 0;
      again = await startAgain(dataDir, port, "15s");
      await until(() => stays.client.state === "open", "the owner back", 30_000);
      const peers = (await stays.client.request("list_peers", {})).peers;
      expect({ carried: carriedLine(again)?.[1], listed: peers.some((p) => p.pubkey === removed.pubkey), events: stays.events.map((e) => e.event) }).toEqual({ carried: "1", listed: false, events: [] });
    } finally {
      stays.close();
      removed.client.close();
      await again?.[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
    }
  }, 60_000);
});
