// A crowd of real clients (src/client) for restart tests: session clients of a few members, all
// from one address (as Claude Code sessions behind one NAT), each recording when it was open, why
// each attempt failed, and the events it heard. `restart` stops a broker and starts another on the
// same port and data directory, as `systemctl restart` does.
import { BrokerClient } from "../../src/client/client.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import type { EventFrame, MessagePushFrame } from "../../src/protocol/server-frames.ts";
import type { SettingKey } from "../../src/config/spec.ts";
import { startBroker, type TestBroker } from "./broker.ts";
import { addMember, type TestMember } from "./mesh.ts";

export type CrowdClient = {
  name: string;
  pubkey: string;
  client: BrokerClient;
  /** performance.now() of each hello_ack. */
  opens: number[];
  /** Each failed attempt: when, the close code and reason, and the failure's error code. */
  failures: { at: number; code?: number; reason?: string; failure?: string }[];
  events: EventFrame[];
  messages: MessagePushFrame[];
};

/** `members` members of `owner`'s mesh with `sessionsEach` session clients each (not connected yet). */
export async function crowd(url: string, owner: TestMember, members: number, sessionsEach: number): Promise<CrowdClient[]> {
  const out: CrowdClient[] = [];
  for (let i = 0; i < members; i++) {
    const m = await addMember(url, owner, `m${i}`);
    for (let j = 0; j < sessionsEach; j++) out.push(crowdClient(url, m, `m${i}/s${j}`));
  }
  return out;
}

function crowdClient(url: string, m: TestMember, name: string): CrowdClient {
  const sessionKeys = generateSigningKeypair();
  const c: CrowdClient = { name, pubkey: sessionKeys.publicKey, opens: [], failures: [], events: [], messages: [], client: undefined as never };
  c.client = new BrokerClient({
    url,
    credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys },
    where: { sessionId: randomId(), pid: process.pid, cwd: `/work/${name.replace("/", "-")}`, hostname: "nat-host", displayName: name },
    firstConnect: "retry",
    onState: (s, d) => {
      if (s === "open") c.opens.push(performance.now());
      else if (s === "reconnecting") c.failures.push({ at: performance.now(), code: d.code, reason: d.reason, failure: d.failure?.code });
    },
    onEvent: (e) => void c.events.push(e),
    onMessage: (msg) => {
      c.messages.push(msg);
      c.client.ackMessages([msg.messageId]);
    },
  });
  return c;
}

/** Connects every client at once (their first connects retry with backoff). */
export function connectAll(cs: readonly CrowdClient[]): void {
  for (const c of cs) void c.client.connect().catch(() => {});
}

/** The clients open again (a hello_ack) after `since`. */
export const backSince = (cs: readonly CrowdClient[], since: number) => cs.filter((c) => c.opens.some((t) => t > since));

/** Every failed attempt's error code (or close reason) after `since`, counted. */
export function failureCodes(cs: readonly CrowdClient[], since: number): Record<string, number> {
  const n: Record<string, number> = {};
  for (const c of cs) for (const f of c.failures) if (f.at > since) n[f.failure ?? f.reason ?? String(f.code)] = (n[f.failure ?? f.reason ?? String(f.code)] ?? 0) + 1;
  return n;
}

/** Stops `b` (the drain of SIGTERM) and starts a broker with the same settings on its port and
 *  data directory. */
export async function restart(b: TestBroker, over: Partial<Record<SettingKey, unknown>> = {}): Promise<TestBroker> {
  await b.stop();
  return startBroker({ ...over, port: b.port }, { dataDir: b.dataDir });
}

export function closeAll(cs: readonly CrowdClient[]): void {
  for (const c of cs) c.client.close();
}
