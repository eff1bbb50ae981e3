// A broker restored from a backup answers with a new hello_ack.epoch (protocol §10). The CLI
// remembers each mesh's epoch and says once, on stderr, that messages and membership changes made
// after that backup may be gone (src/client/rollback-note.ts); a first connect only records, and a
// session's MCP server logs it without recording (docs/operations.md "Backups").
import { expect, test } from "bun:test";
import { join } from "node:path";
import { admin } from "../helpers/admin.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, useBroker } from "../helpers/cli.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { until } from "../helpers/until.ts";

const NOTE = "is running from a restored backup";

test("after a restore, each CLI that connected before says once that the broker rolled back", async () => {
  const dataDir = tempDir("cm-rollback-data-");
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  const backup = join(tempDir("cm-rollback-backup-"), "mesh.db");
  let unread: string;
  {
    await using b = await startBroker({}, { dataDir, keepData: true });
    const { slug } = await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
    // Both connect once before the backup: the epoch each saw is the one a restore replaces.
    for (const dir of [alice, bob]) expect(ok(await cli(dir, ["peers"])).stderr).not.toContain(NOTE);
    const epoch = loadConfig(alice).meshes[0]!.brokerEpoch;
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(loadConfig(bob).meshes[0]!.brokerEpoch).toBe(epoch);
    ok(await admin(["backup", "--out", backup, "--data-dir", dataDir]), "backup");
    unread = ok(await cli(alice, ["send", "bob", "sent after the backup", "--json"])).json().messageId;
    expect(unread).toBeString();
    expect(slug).toBeString();
  }
  ok(await admin(["restore", backup, "--force", "--data-dir", dataDir]), "restore");
  await using b = await startBroker({}, { dataDir });
  for (const dir of [alice, bob]) useBroker(dir, b.url);

  // A session's server only logs it, and leaves the recording (and the telling) to the CLI.
  const s = await startMcp(alice, "cc-rollback");
  try {
    await waitConnected(s);
    await until(() => s.stderr().includes("runs from a restored backup"), "the MCP server logged the rollback");
  } finally {
    await s.close();
  }

  const first = ok(await cli(alice, ["peers", "--json"]));
  expect(first.stderr.split(NOTE).length - 1).toBe(1);
  expect(first.stderr).toContain("resend what matters");
  expect(() => first.json()).not.toThrow(); // the note stays off stdout
  expect(ok(await cli(alice, ["peers"])).stderr).not.toContain(NOTE);
  // Bob hears it on his own next command; the message sent after the backup is gone.
  const inbox = ok(await cli(bob, ["inbox", "--json"]));
  expect(inbox.stderr).toContain(NOTE);
  expect(inbox.stdout).not.toContain(unread!);
  expect(loadConfig(bob).meshes[0]!.brokerEpoch).toBe(loadConfig(alice).meshes[0]!.brokerEpoch!);
});

test("a member's first connect records the epoch without a note", async () => {
  await using b = await startBroker();
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  await cliMesh(b.url, [[alice, "alice"]]);
  expect(loadConfig(alice).meshes[0]!.brokerEpoch).toBeUndefined();
  expect(ok(await cli(alice, ["peers"])).stderr).not.toContain(NOTE);
  expect(loadConfig(alice).meshes[0]!.brokerEpoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
});
