// doctor's fixes name the mesh when several are joined: a bare `claudemesh audit log` is refused
// there ("You are in several meshes"), so the fix of an owner's key-rotation check that could not
// read the audit log must carry --mesh, as its rekey fix does (src/cli/mesh-named.ts meshOption).
import { describe, expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { cli, identities, ok } from "../helpers/cli.ts";
import { MeshError } from "../../src/protocol/errors.ts";

type Check = { check: string; ok: boolean; detail: string; fix: string | null };

describe("doctor in several meshes", () => {
  test("a key-rotation check that cannot read the audit log names the mesh in its fix", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    ok(await cli(alice, ["new", "Ops", "--broker", b.url, "--display-name", "alice"]));
    ok(await cli(alice, ["new", "Lab", "--broker", b.url, "--display-name", "alice"]));
    // The broker answers every audit_log with a refusal, as one whose database fails would.
    b.ctx.store.listAudit = () => Promise.reject(new MeshError("unavailable", "the audit log cannot be read right now"));
    const checks = (await cli(alice, ["doctor", "--json"])).json().checks as Check[];
    const rotation = checks.filter((c) => c.check.endsWith(": key rotation")).map((c) => ({ check: c.check, ok: c.ok, fix: c.fix }));
    expect(rotation).toEqual([
      { check: "ops: key rotation", ok: false, fix: "claudemesh audit log --mesh ops" },
      { check: "lab: key rotation", ok: false, fix: "claudemesh audit log --mesh lab" },
    ]);
  }, 60_000);
});
