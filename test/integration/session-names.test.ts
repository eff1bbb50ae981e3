// A session's name names its own member (docs/protocol.md §4.3.2): the broker refuses a
// session_hello whose name does not start with its member's name and "/", so that no member's
// session can pass for another member's. Before, mallory's session called itself "alice/api";
// `claudemesh peers` listed it as "alice/api", and bob's `claudemesh send alice/api <secret>`
// answered `Sent to "alice/api"` and delivered to mallory (real broker, CLI as a subprocess).
import { expect, test } from "bun:test";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { MAX_NAME_LEN } from "../../src/protocol/limits.ts";
import { sessionName } from "../../src/protocol/names.ts";
import { startBroker, storedName } from "../helpers/broker.ts";
import { cli, cliTeam } from "../helpers/cli.ts";
import { addMember, connect, createTestMesh, type TestMember } from "../helpers/mesh.ts";

/** A session of `m` whose hello says `name` (undefined: the broker names it), without reconnects. */
const sessionNamed = (url: string, m: TestMember, name: string | undefined) =>
  connect(url, m, { cwd: "/home/m/api", ...(name === undefined ? {} : { displayName: name }) }, { credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys: generateSigningKeypair() }, reconnect: false });

/** What a hello with `name` was answered: the name admitted, or the refusal. */
async function answer(url: string, m: TestMember, name: string | undefined): Promise<string> {
  try {
    const s = await sessionNamed(url, m, name);
    s.close();
    return `admitted as ${s.ack.displayName}`;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

const refusal = (part: string) => `refused: Broker closed the connection (1008 malformed). The session's name must start with its member's name and "/" (here: ${part}/…): a session cannot be named for another member.`;

test("mallory's session cannot call itself alice's: bob's `send alice/api` never reaches it", async () => {
  await using team = await cliTeam(["alice", "bob", "mallory"]);
  const { b, dirs: [, bob, mallory] } = team;
  const e = loadConfig(mallory).meshes[0]!;
  const m: TestMember = { meshId: e.meshId, memberId: e.memberId, keys: { publicKey: e.publicKey, secretKey: e.secretKey }, displayName: e.displayName, role: e.role };
  expect(await answer(b.url, m, "alice/api")).toBe(refusal("mallory"));
  const sent = await cli(bob, ["send", "alice/api", "the deploy token is hunter2"]);
  expect({ code: sent.code, stdout: sent.stdout, first: sent.stderr.split("\n")[0] }).toEqual({ code: 4, stdout: "", first: 'claudemesh: No peer matches "alice/api". List names with claudemesh peers, or give a public-key prefix (≥ 6 hex).' });
  expect((await cli(mallory, ["inbox", "--json"])).json().messages).toEqual([]);
}, 60_000);

test("what a session may be named: its member's name, then \"/\" and anything; never another member's or the bare name", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "owner");
  const mallory = await addMember(b.url, owner, "mallory");
  const cases: [string | undefined, string][] = [
    ["mallory/api", "admitted as mallory/api"],
    ["mallory/", "admitted as mallory/"],
    ["mallory/owner/api", "admitted as mallory/owner/api"],
    [undefined, "admitted as mallory/api"], // the broker's own name for it
    ["owner/api", refusal("mallory")],
    ["owner", refusal("mallory")],
    ["mallory", refusal("mallory")],
    ["Mallory/api", refusal("mallory")],
    ["mallory-x/api", refusal("mallory")],
  ];
  const got: [string | undefined, string][] = [];
  for (const [name] of cases) got.push([name, await answer(b.url, mallory, name)]);
  expect(got).toEqual(cases);
}, 60_000);

test("the names the MCP server makes are admitted: a long member name cut at 64, and an older broker's name escaped", async () => {
  await using b = await startBroker();
  const { owner } = await createTestMesh(b.url, "owner");
  const long = await addMember(b.url, owner, "l".repeat(MAX_NAME_LEN));
  const cut = sessionName(long.displayName, "api");
  expect({ cut: cut.length, answer: await answer(b.url, long, cut) }).toEqual({ cut: MAX_NAME_LEN, answer: `admitted as ${cut}` });
  const near = await addMember(b.url, owner, "n".repeat(MAX_NAME_LEN - 2));
  expect(await answer(b.url, near, sessionName(near.displayName, "api"))).toBe(`admitted as ${"n".repeat(MAX_NAME_LEN - 2)}/a`);
  // A name only an older broker took, as the member's MCP server escapes it.
  const old = await addMember(b.url, owner, "bob");
  storedName(b, old.meshId, old.memberId, "lab:bob");
  expect(await answer(b.url, old, sessionName("lab:bob", "api"))).toBe("admitted as lab\\u003abob/api");
  expect(await answer(b.url, old, "bob/api")).toBe(refusal("lab\\u003abob"));
}, 60_000);
