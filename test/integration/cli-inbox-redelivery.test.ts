// `claudemesh inbox` after the broker hands out again messages already read (its database restored
// from a backup taken before they were acked, as docs/operations.md "Backups and restore" allows):
// the replay memory drops them, and inbox says they were already read, not that they "failed
// verification", which reads as an attack.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, useBroker } from "../helpers/cli.ts";

test("messages read before a broker restore come again and are skipped as already read", async () => {
  const dataDir = tempDir("cm-redeliver-");
  await using ids = identities(3);
  const [alice, bob, carol] = ids.dirs as [string, string, string];
  const first = await startBroker({}, { dataDir });
  await cliMesh(first.url, [
    [alice, "alice"],
    [bob, "bob"],
    [carol, "carol"],
  ]);
  ok(await cli(alice, ["send", "*", "read before the restore"]));
  const backup = join(ids.root, "before-reads.db");
  ok(await cli(alice, ["admin", "backup", "--data-dir", dataDir, "--out", backup]));
  for (const dir of [bob, carol]) expect(ok(await cli(dir, ["inbox"])).stdout).toContain("read before the restore");
  await first[Symbol.asyncDispose]();
  ok(await cli(alice, ["admin", "restore", backup, "--force", "--data-dir", dataDir]));

  await using second = await startBroker({}, { dataDir });
  for (const dir of [bob, carol]) useBroker(dir, second.url);
  // Both read on this machine before the restore, so each is told once that the broker rolled
  // back (cli-rollback-note.test.ts), on stderr only.
  const rolledBack = (stderr: string) => expect(stderr).toMatch(/^claudemesh: .*The broker of .+ is running from a restored backup .*\n$/);
  const human = await cli(bob, ["inbox"]);
  expect({ code: human.code, stdout: human.stdout }).toEqual({
    code: 0,
    stdout: "No new messages.\n(1 message(s) you had already read came again and were skipped; `claudemesh inbox --all` shows them)\n",
  });
  rolledBack(human.stderr);
  const json = await cli(carol, ["inbox", "--json"]);
  expect({ code: json.code, json: json.json() }).toEqual({ code: 0, json: { messages: [], dropped: 0, waitingForKeys: 0, alreadyRead: 1 } });
  rolledBack(json.stderr);
  // They were acked with the skip: the next read has nothing to say.
  expect(ok(await cli(bob, ["inbox"])).stdout).toBe("No new messages.\n");
}, 60_000);
