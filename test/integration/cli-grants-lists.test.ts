// Capabilities named as a comma list (`revoke bob dm,broadcast`) are read as the CLI's other comma
// list, a config file's or CLAUDEMESH_TRUSTED_PROXIES's (src/config/load.ts): each item trimmed,
// empty items skipped. A trailing or doubled comma was refused as `Unknown capability ""`, naming
// nothing the user typed. A list with no capability at all is still refused, with the choices.
import { describe, expect, test } from "bun:test";
import { cli, cliTeam } from "../helpers/cli.ts";

const said = (r: { code: number; stdout: string; stderr: string }) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

describe("cli grants: capabilities as a comma list", () => {
  test("a trailing or doubled comma and spaces around items are read as the list without them; a list of commas names no capability", async () => {
    await using team = await cliTeam(["alice", "bob", "carol"]);
    const { dirs: [, bob] } = team; // carol, not the owner alice: taking the owner's dm is warned about
    expect(said(await cli(bob, ["revoke", "carol", "dm,"]))).toEqual({ code: 0, stdout: "carol may now: broadcast, group, topic.\n", stderr: "" });
    expect(said(await cli(bob, ["revoke", "carol", "group,,broadcast"]))).toEqual({ code: 0, stdout: "carol may now: topic.\n", stderr: "" });
    expect(said(await cli(bob, ["grant", "carol", " dm , group "]))).toEqual({ code: 0, stdout: "carol may now: dm, group, topic.\n", stderr: "" });
    expect(said(await cli(bob, ["grant", "carol", ",", ""]))).toEqual({ code: 2, stdout: "", stderr: expect.stringMatching(/^claudemesh: Name at least one capability: dm, broadcast, group, topic or all\./) });
    expect(said(await cli(bob, ["grant", "carol", "dm,topci,"]))).toEqual({ code: 2, stdout: "", stderr: expect.stringMatching(/^claudemesh: Unknown capability "topci" \(did you mean topic\?\)/) });
  }, 60_000);
});
