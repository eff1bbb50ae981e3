// `claudemesh admin backup` prints a restore command that can be pasted later, from anywhere
// (first-run review M3): absolute paths, and --data-dir whenever the data directory is not the
// default one; pasted as printed, it restores into the directory that was backed up.
import { expect, test } from "bun:test";
import { join, relative } from "node:path";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, identities, ok } from "../helpers/cli.ts";

const restoreLine = (stdout: string) => stdout.split("\n").find((l) => l.startsWith("Restore with (broker stopped): "))?.slice("Restore with (broker stopped): ".length);

test("the restore hint, and restore's start hint, name the data directory unless it is the default, and work as printed", async () => {
  await using ids = identities(1);
  const [cfg] = ids.dirs as [string];
  const xdg = tempDir("cm-xdg-");
  const env = { XDG_DATA_HOME: xdg, CLAUDEMESH_DATA_DIR: "" };

  // The default directory ($XDG_DATA_HOME/claudemesh): no --data-dir in the hint.
  {
    await using b = await startBroker({}, { dataDir: join(xdg, "claudemesh") });
    const r = ok(await cli(cfg, ["admin", "backup"], { env }));
    expect(restoreLine(r.stdout)).toMatch(new RegExp(`^claudemesh admin restore ${join(b.dataDir, "backups")}/claudemesh-\\S+\\.db --force$`));
  }

  // Another directory, given relative to the working directory: absolute paths and --data-dir.
  const data = tempDir("cm-data-");
  {
    await using b = await startBroker({}, { dataDir: data });
    const r = ok(await cli(cfg, ["admin", "backup", "--data-dir", relative(process.cwd(), b.dataDir)], { env }));
    expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`^Backed up to ${join(data, "backups")}/claudemesh-\\S+\\.db$`));
    const line = restoreLine(r.stdout)!;
    expect(line).toMatch(new RegExp(`^claudemesh admin restore ${join(data, "backups")}/claudemesh-\\S+\\.db --force --data-dir ${data}$`));
  }
  // The broker is stopped; the printed command, as pasted, restores into that directory.
  const restoreArgs = (restoreLine(ok(await cli(cfg, ["admin", "backup", "--data-dir", data], { env })).stdout) ?? "").split(" ").slice(1);
  const restored = await cli(cfg, restoreArgs, { env, timeoutMs: 30_000 });
  expect({ code: restored.code, first: restored.stdout.split("\n")[0], last: restored.stdout.trimEnd().split("\n").at(-1) }).toEqual({
    code: 0,
    first: expect.stringContaining(` → ${join(data, "claudemesh.db")}`),
    // The broker to start again is this directory's, not the default one's.
    last: `Start the broker again (claudemesh serve --data-dir ${data}, or systemctl start claudemesh).`,
  });
}, 60_000);
