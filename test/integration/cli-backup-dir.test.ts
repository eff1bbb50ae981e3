// `claudemesh backup FILE` writes FILE 0600 and leaves FILE's directory alone: a backup into /tmp
// (or any shared folder) must not make it 0700 or take its sticky bit, even when run as root.
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { cli, cliTeam } from "../helpers/cli.ts";

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

test("backup into a shared 1777 directory and an ordinary 0755 one leaves both as they were; the file is 0600", async () => {
  await using team = await cliTeam(["alice"]);
  const { dirs: [alice] } = team;
  const shared = join(team.root, "shared");
  const plain = join(team.root, "plain");
  mkdirSync(shared);
  mkdirSync(plain);
  chmodSync(shared, 0o1777); // stands in for /tmp
  chmodSync(plain, 0o755);
  for (const dir of [shared, plain]) {
    const r = await cli(alice, ["backup", join(dir, "mesh.cmbk"), "--passphrase-stdin"], { stdin: "correct horse battery staple\n" });
    expect({ code: r.code, stderr: r.stderr, file: mode(join(dir, "mesh.cmbk")), files: readdirSync(dir) }).toEqual({ code: 0, stderr: "", file: "600", files: ["mesh.cmbk"] });
  }
  expect({ shared: mode(shared), plain: mode(plain) }).toEqual({ shared: "1777", plain: "755" });
}, 60_000);
