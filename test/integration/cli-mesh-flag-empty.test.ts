// `--mesh` given no value (`peers --mesh` at the end of a line, `--mesh=`, `-m ""`) is refused as a
// usage error, as every other option without its value is (README: a typo never passes silently).
// It read as "" and fell back to CLAUDEMESH_MESH or the only mesh without a word.
import { expect, test } from "bun:test";
import { cli, cliTeam } from "../helpers/cli.ts";

test("an empty --mesh is refused before anything is done, whatever the default mesh would be", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [alice] = team.dirs;
  const line = "claudemesh: --mesh needs a mesh slug or id (claudemesh list shows yours).\n";
  for (const args of [["peers", "--mesh"], ["peers", "--mesh="], ["send", "bob", "hi", "-m", ""], ["whoami", "--mesh", " "]]) {
    const r = await cli(alice, args, { env: { CLAUDEMESH_MESH: team.mesh.slug } });
    expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: "", stderr: `${line}  fix: see \`claudemesh ${args[0]} --help\`\n` });
  }
  const json = await cli(alice, ["peers", "--mesh", "", "--json"]);
  expect({ code: json.code, json: json.json() }).toEqual({ code: 2, json: { error: { code: "usage", message: line.slice("claudemesh: ".length, -1), fix: "see `claudemesh peers --help`" } } });
}, 60_000);
