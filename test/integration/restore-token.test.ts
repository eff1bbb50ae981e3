// `admin restore` issues a new operator token (docs/operations.md "A restore rolls back…",
// docs/decisions.md): the backup holds the hash of the token of its day, and a token replaced
// since because it leaked must not open the dashboard's broker-wide views again after a restore.
import { expect, test } from "bun:test";
import { admin } from "../helpers/admin.ts";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";

/** `claudemesh admin <args> --json`, which must succeed; its output. */
const adminJson = async (args: string[]) => {
  const r = await admin([...args, "--json"]);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  return r.json();
};
const overview = async (url: string, token: string) => (await fetch(`${url}/v1/dashboard/operator/overview`, { headers: { authorization: `Bearer ${token}` } })).status;

test("the token in the backup, replaced since, stays dead after a restore; the restore prints the one that works", async () => {
  const dataDir = tempDir("cm-restore-token-data-");
  await using first = await spawnBroker(dataDir);
  const leaked: string = (await adminJson(["token", "--data-dir", dataDir])).operatorToken;
  const { file } = await adminJson(["backup", "--data-dir", dataDir]);
  const replacing: string = (await adminJson(["token", "--data-dir", dataDir])).operatorToken;
  expect([await overview(first.url, leaked), await overview(first.url, replacing)]).toEqual([401, 200]);
  first.proc.kill("SIGTERM");
  expect(await first.proc.exited).toBe(0);

  const restored = await adminJson(["restore", file, "--data-dir", dataDir, "--force"]);
  expect(restored.operatorToken).toStartWith("cmo_");
  await using again = await spawnBroker(dataDir);
  expect(await Promise.all([leaked, replacing, restored.operatorToken].map((t) => overview(again.url, t)))).toEqual([401, 401, 200]);
}, 60_000);

test("the human output shows the new token once, like admin token", async () => {
  const dataDir = tempDir("cm-restore-token-data-");
  await using _ = await spawnBroker(dataDir);
  const { file } = await adminJson(["backup", "--data-dir", dataDir]);
  const r = await admin(["restore", file, "--data-dir", tempDir("cm-restore-token-into-")]);
  expect({ code: r.code, token: r.stdout.match(/^New operator token for the dashboard \(the backup's token, and any other, no longer works; shown only now\):\n {2}(cmo_\S+)$/m)?.[1]?.length }).toEqual({ code: 0, token: expect.any(Number) });
}, 60_000);
