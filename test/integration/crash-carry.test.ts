// Presences across a broker killed with SIGKILL (docs/decisions.md, Session 35: presences survive
// an unclean stop): a real `serve`, real clients (src/client) reconnecting by themselves. The
// running broker snapshots its presences; the next start takes the latest snapshot in, each
// presence for what is left of its grace counted from when the snapshot was last known true.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { tempDir } from "../helpers/broker.ts";
import { connect, createTestMesh } from "../helpers/mesh.ts";
import { openSqliteStore } from "../../src/store/sqlite/open-store.ts";
import { serveProcess, spawnBroker, type ServeProcess } from "../helpers/process.ts";
import { backSince, connectAll, crowd, type CrowdClient } from "../helpers/storm.ts";
import { until } from "../helpers/until.ts";

type Snapshot = { takenAt?: number; presences: { identity: { pubkey: string }; status: string; summary: string }[] };

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

/** A `serve` with `grace` on a fresh data directory and an owner's mesh on it, to be killed with
 *  SIGKILL and started again on its port and directory. Disposing of it closes the clients it
 *  was given and ends both processes. */
async function crashScene(grace: string) {
  const dataDir = tempDir("cm-crash-carry-");
  const first = await spawnBroker(dataDir, ["--presence-grace", grace]);
  const port = new URL(first.url).port;
  const { owner } = await createTestMesh(first.url);
  const clients: { close(): void }[] = [];
  let again: ServeProcess | null = null;
  return {
    dataDir,
    url: first.url,
    owner,
    /** Crowd clients (helpers/storm.ts), closed with the scene. */
    crowd: async (members: number, sessionsEach: number) => {
      const cs = await crowd(first.url, owner, members, sessionsEach);
      clients.push(...cs.map((c) => c.client));
      return cs;
    },
    closeWith: (c: { close(): void }) => clients.push(c),
    kill: async () => {
      first.proc.kill("SIGKILL");
      await first.proc.exited;
    },
    /** `serve` again on the killed one's port and data directory, listening. */
    startAgain: async () => {
      again = serveProcess(["--port", port, "--data-dir", dataDir, "--presence-grace", grace], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
      await again.waitFor(/"msg":"broker listening"/);
      return again;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) c.close();
      await again?.[Symbol.asyncDispose]();
      await first[Symbol.asyncDispose]();
    },
  };
}

const carriedLine = (serve: ServeProcess) => /"msg":"presences carried over from the last snapshot before an unclean stop"[^\n]*"carried":(\d+)/.exec(serve.stderr());
const heard = (cs: readonly CrowdClient[], event: string) => cs.flatMap((c) => c.events.filter((e) => e.event === event).map((e) => e.data.pubkey as string));

describe("presences across a broker killed with SIGKILL", () => {
  test("a session back within the grace re-attaches silently and stays working; one that stays away is announced gone after the grace", async () => {
    await using scene = await crashScene("15s");
    const clients = await scene.crowd(2, 2);
    const [busy, leaver, ...rest] = clients as [CrowdClient, CrowdClient, ...CrowdClient[]];
    connectAll(clients);
    await until(() => backSince(clients, 0).length === clients.length, "4 sessions connected");
    await busy.client.request("set_status", { status: "working" });
    await snapshotHolds(scene.dataDir, { [busy.pubkey]: "working", [leaver.pubkey]: "idle" });
    for (const c of clients) c.events.length = 0;

    const killed = performance.now();
    await scene.kill();
    leaver.client.close(); // its process ended while no broker ran
    const again = await scene.startAgain();
    const back = [busy, ...rest];
    await until(() => backSince(back, killed).length === back.length, "every other session back", 30_000);
    const peers = (await rest[0]!.client.request("list_peers", {})).peers;
    await until(() => heard(rest, "peer_left").includes(leaver.pubkey), "peer_left for the session that stayed away", 20_000);
    expect({
      carried: carriedLine(again) !== null,
      joined: heard(clients, "peer_joined"),
      // (The owner's own connection, which made the invites, may still have been in its grace.)
      left: [...new Set(heard(clients, "peer_left"))].filter((k) => k !== scene.owner.keys.publicKey),
      busy: peers.find((p) => p.pubkey === busy.pubkey)?.status,
      online: peers.filter((p) => p.online && p.kind === "session").length,
    }).toEqual({ carried: true, joined: [], left: [leaver.pubkey], busy: "working", online: 3 });
  }, 90_000);

  test("a status and a summary acknowledged after the latest snapshot are what the restarted broker shows", async () => {
    await using scene = await crashScene("30s"); // snapshots at most every 5 s
    const clients = await scene.crowd(1, 2);
    const [a, b] = clients as [CrowdClient, CrowdClient];
    connectAll(clients);
    await until(() => backSince(clients, 0).length === 2, "2 sessions connected");
    await snapshotHolds(scene.dataDir, { [a.pubkey]: "idle", [b.pubkey]: "idle" });
    // Acknowledged once stored, then the broker dies before its next snapshot.
    await a.client.request("set_status", { status: "dnd" });
    await b.client.request("set_summary", { summary: "deploying" });
    await scene.kill();
    // The snapshot is older than both changes.
    const recorded = recordIn(scene.dataDir)!.presences.filter((p) => p.identity.pubkey === a.pubkey || p.identity.pubkey === b.pubkey);
    expect(recorded.map((p) => [p.status, p.summary])).toEqual([["idle", ""], ["idle", ""]]);
    const killed = performance.now();
    const again = await scene.startAgain();
    await until(() => backSince(clients, killed).length === 2, "both sessions back", 30_000);
    const peers = (await a.client.request("list_peers", {})).peers;
    const shown = (k: string) => peers.find((p) => p.pubkey === k);
    expect({ carried: carriedLine(again) !== null, a: shown(a.pubkey)?.status, b: shown(b.pubkey)?.summary }).toEqual({ carried: true, a: "dnd", b: "deploying" });
  }, 60_000);

  test("a working status a new presence dropped is not brought back by a start after a crash", async () => {
    await using scene = await crashScene("3s");
    const first = await connect(scene.url, scene.owner);
    await first.client.request("set_status", { status: "working" });
    first.close(); // its process died mid-turn: the stored row says working
    await Bun.sleep(3_500); // past the grace: the next connection is a new presence, idle
    const second = await connect(scene.url, scene.owner);
    scene.closeWith(second);
    expect((await second.client.request("list_peers", {})).peers.find((p) => p.pubkey === scene.owner.keys.publicKey)?.status).toBe("idle");
    await snapshotHolds(scene.dataDir, { [scene.owner.keys.publicKey]: "idle" });
    await scene.kill();
    const again = await scene.startAgain();
    let peers: { pubkey: string; status: string }[] = [];
    await until(async () => (peers = await second.client.request("list_peers", {}).then((r) => r.peers, () => [])).length > 0, "the owner back", 30_000);
    expect({ carried: carriedLine(again)?.[1], status: peers.find((p) => p.pubkey === scene.owner.keys.publicKey)?.status }).toEqual({ carried: "1", status: "idle" });
  }, 60_000);

  test("a snapshot older than the grace carries nothing: everyone back is announced again", async () => {
    await using scene = await crashScene("3s");
    const clients = await scene.crowd(2, 1);
    const [a, b] = clients as [CrowdClient, CrowdClient];
    connectAll(clients);
    await until(() => backSince(clients, 0).length === 2, "2 sessions connected");
    await snapshotHolds(scene.dataDir, { [a.pubkey]: "idle", [b.pubkey]: "idle" });
    await scene.kill();
    for (const c of clients) c.events.length = 0;
    const killed = performance.now();
    await Bun.sleep(3_500); // longer than the grace, past the snapshot's last note
    const again = await scene.startAgain();
    await until(() => backSince(clients, killed).length === 2, "both sessions back", 30_000);
    // The second one back is announced to the first.
    await until(() => heard([a], "peer_joined").includes(b.pubkey) || heard([b], "peer_joined").includes(a.pubkey), "a join announced", 10_000);
    expect(carriedLine(again)).toBeNull();
  }, 60_000);

  test("a member removed while no broker ran is not carried", async () => {
    await using scene = await crashScene("15s");
    const { owner } = scene;
    // The owner stays connected throughout, so its presence is never one in its grace.
    const stays = await connect(scene.url, owner);
    scene.closeWith(stays);
    const [removed] = (await scene.crowd(1, 1)) as [CrowdClient];
    connectAll([removed]);
    await until(() => backSince([removed], 0).length === 1, "the session connected");
    await snapshotHolds(scene.dataDir, { [owner.keys.publicKey]: "idle", [removed.pubkey]: "idle" });
    await scene.kill();
    removed.client.close();
    // Removed by the store's own path (table and audit chain), as a restore or repair could.
    const store = await openSqliteStore({ dataDir: scene.dataDir, synchronous: "full" });
    const { memberId } = (await store.getSession(owner.meshId, removed.pubkey))!;
    await store.revokeMember(owner.meshId, memberId, { actor: owner.memberId, ban: false, reason: null, self: false });
    store.close();
    stays.events.length = 0;
    const again = await scene.startAgain();
    const peers = (await stays.client.request("list_peers", {})).peers; // sent once the owner is back
    expect({ carried: carriedLine(again)?.[1], listed: peers.some((p) => p.pubkey === removed.pubkey), events: stays.events.map((e) => e.event) }).toEqual({ carried: "1", listed: false, events: [] });
  }, 60_000);
});
