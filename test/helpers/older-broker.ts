// A broker of schema 1–2 (before brokers kept admission evidence and signed invite keys), as
// today's CLI meets it: the real in-process broker with two handlers standing in (HANDLERS is
// exported for that) to answer as such a broker did. Its `member_list` rows have no `admission`
// field at all (not null: the field did not exist), and its `invite_create` schema had no
// `keySignature`, so it refused the frame the way its codec refused any unknown property. Building
// that commit's code is not needed: these are the only answers of it that today's CLI reads
// differently (with the lookups it did not know, which today's CLI asks first: brokerWithoutLookups).
// Installed on the shared handler table: one per test process at a time.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { MeshError } from "../../src/protocol/errors.ts";

/** Until disposed, the broker answers member_list and invite_create as a schema 1–2 broker did,
 *  and knows no lookups (brokerWithoutLookups): those came later. */
export function olderBrokerAnswers(): Disposable {
  const lookups = brokerWithoutLookups();
  const real = { member_list: HANDLERS.member_list, invite_create: HANDLERS.invite_create };
  HANDLERS.member_list = async (...a) => ({ members: (await real.member_list(...a)).members.map(({ admission: _, ...m }) => m as never) });
  HANDLERS.invite_create = async (ctx, conn, f) => {
    if ("keySignature" in f) throw new MeshError("invalid_frame", "Invalid invite_create frame at /keySignature: Unexpected property.");
    return real.invite_create(ctx, conn, f);
  };
  return { [Symbol.dispose]: () => void (Object.assign(HANDLERS, real), lookups[Symbol.dispose]()) };
}

/** Until disposed, the broker answers `peer_lookup` and `member_lookup` as a broker from before
 *  them does (docs/protocol.md §1.2): an `unknown_type` error echoing the request's id, the
 *  connection left open. (Such a broker's codec refuses the frame type before any handler; on the
 *  wire the answer is the same: the brokers of commits 944731b and e7cb84b, run in session 36,
 *  answered these words.) `asked` counts the refusals. */
export function brokerWithoutLookups(): Disposable & { asked: number } {
  const real = { peer_lookup: HANDLERS.peer_lookup, member_lookup: HANDLERS.member_lookup };
  const state = {
    asked: 0,
    [Symbol.dispose]: () => void Object.assign(HANDLERS, real),
  };
  const refuse = (type: string) => async () => {
    state.asked++;
    throw new MeshError("unknown_type", `Unknown frame type ${JSON.stringify(type)}.`);
  };
  HANDLERS.peer_lookup = refuse("peer_lookup");
  HANDLERS.member_lookup = refuse("member_lookup");
  return state;
}

/** Forgets what the CLI of `configDir` noted of its brokers' refusals (src/client/refusal-memory.ts),
 *  as if an hour had passed: for a test that takes its stand-in away (the broker upgraded) and
 *  wants the next command to ask at once, as a machine that never met the older broker would. */
export function forgetRefusals(configDir: string): void {
  const file = join(configDir, "config.json");
  const cfg = JSON.parse(readFileSync(file, "utf8"));
  for (const m of cfg.meshes) delete m.eventsRefused, delete m.lookupsRefused;
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
}

/** A broker older than the hello's `events` field (docs/protocol.md §4.3.1), in front of the real
 *  one at `url`: a first frame carrying the field is refused as that broker's codec refused any
 *  unknown field (an `error` frame `malformed` naming it, close 1008, byte for byte what the brokers
 *  of commits 944731b, e7cb84b and 9693995 sent when run in session 36); any other first frame, and
 *  everything after it both ways, is passed on. `hellos` records whether each first frame had it.
 *  `upgrade()` is that broker replaced by one that knows the field, as a restart does it: every
 *  link is closed 1001 (the drain's "going away") and later hellos pass with the field. */
export function brokerBeforeEvents(url: string) {
  const hellos: boolean[] = [];
  let knowsEvents = false;
  type Link = { upstream: WebSocket | null; waiting: string[] };
  const links = new Set<import("bun").ServerWebSocket<Link>>();
  const server = Bun.serve<Link, never>({
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req, { data: { upstream: null, waiting: [] } }) ? undefined : new Response("upgrade", { status: 426 })),
    websocket: {
      open: (ws) => void links.add(ws),
      message(ws, data) {
        const text = String(data);
        const link = ws.data;
        if (link.upstream) return void (link.upstream.readyState === WebSocket.OPEN ? link.upstream.send(text) : link.waiting.push(text));
        const hello = JSON.parse(text) as Record<string, unknown>;
        hellos.push("events" in hello);
        if ("events" in hello && !knowsEvents) {
          ws.send(JSON.stringify({ type: "error", code: "malformed", message: `Invalid ${String(hello.type)} frame at /events: Unexpected property.`, retryable: false }));
          return ws.close(1008, "malformed");
        }
        const up = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
        link.upstream = up;
        link.waiting.push(text);
        up.onopen = () => link.waiting.splice(0).forEach((t) => up.send(t));
        up.onmessage = (ev) => ws.send(String(ev.data));
        up.onclose = (ev) => ws.close(ev.code === 1005 || ev.code === 1006 ? 1000 : ev.code, ev.reason);
      },
      close: (ws) => {
        links.delete(ws);
        ws.data.upstream?.close();
      },
    },
  });
  const upgrade = () => {
    knowsEvents = true;
    for (const ws of links) ws.close(1001, "shutting down");
  };
  return { url: `http://127.0.0.1:${server.port}`, hellos, upgrade, [Symbol.dispose]: () => void server.stop(true) };
}
