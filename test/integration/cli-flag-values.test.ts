// Options given a value they do not take are refused (exit 2) before the command does anything:
// citty read any value of a switch but "false" as on, so `leave team --yes=no` deleted the keys and
// `peers --json=no` printed JSON; it read `-p=now` as the value "=now" (and then suggested "now"
// for it). In a group of short options the letter no option has is named, not the first.
import { expect, test } from "bun:test";
import { cli, cliTeam, ok } from "../helpers/cli.ts";

test("a switch with a value, a short option with '=' and an unknown letter in a group are usage errors that change nothing", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [alice, bob], mesh } = team;
  const cases: [string[], string][] = [
    [["leave", mesh.slug, "--yes=no"], '--yes is a switch and takes no value ("--yes=no"): give --yes alone, or leave it out.\n  fix: see `claudemesh leave --help`'],
    [["leave", mesh.slug, "--yes=0", "--forget"], '--yes is a switch and takes no value ("--yes=0"): give --yes alone, or leave it out.\n  fix: see `claudemesh leave --help`'],
    [["leave", mesh.slug, "-y=no"], '-y is a switch and takes no value ("-y=no"): give -y alone, or leave it out.\n  fix: see `claudemesh leave --help`'],
    [["peers", "--json=no"], '--json is a switch and takes no value ("--json=no"): give --json alone, or leave it out.\n  fix: see `claudemesh peers --help`'],
    [["send", "bob", "hi", "-p=now"], '-p takes its value after a space, not after "=" ("-p=now"): give -p now, or --priority=now.\n  fix: see `claudemesh send --help`'],
    [["peers", "-m=shop-team"], '-m takes its value after a space, not after "=" ("-m=shop-team"): give -m shop-team, or --mesh=shop-team.\n  fix: see `claudemesh peers --help`'],
    [["peers", "-aj"], "Unknown option -j (in -aj); this command's short options are -a (--all), -m (--mesh).\n  fix: see `claudemesh peers --help`"],
  ];
  for (const [args, said] of cases) {
    const r = await cli(alice, args);
    expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: "", stderr: `claudemesh: ${said}\n` });
  }
  // The values citty reads as they say still work: --json=false is human output, --json=true JSON.
  expect(ok(await cli(alice, ["whoami", "--json=false"])).stdout).toStartWith(`${mesh.slug}: alice (owner)`);
  expect(ok(await cli(alice, ["whoami", "--json=true"])).json().identities).toHaveLength(1);
  // Still in the mesh with its keys, and bob got nothing.
  expect(ok(await cli(alice, ["list", "--json"])).json().meshes.map((m: { slug: string }) => m.slug)).toEqual([mesh.slug]);
  expect(ok(await cli(bob, ["inbox", "--json"])).json().messages).toEqual([]);
}, 60_000);
