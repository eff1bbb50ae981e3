// Two processes writing config.json: what one saves while another command waits on its broker is
// kept when that command saves (updateConfig in src/client/local/config-file.ts), so a removal
// the broker reported is not forgotten, and `list` keeps saying so.
import { expect, test } from "bun:test";
import { cli, cliStream, cliTeam, ok, until } from "../helpers/cli.ts";

/** An HTTP front for `target` that holds every POST /v1/meshes until release() (a slow broker). */
function slowCreates(target: string) {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let held = 0;
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/v1/meshes") {
        held++;
        await gate;
      }
      return fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.method === "GET" ? null : await req.arrayBuffer() });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, held: () => held, release, [Symbol.asyncDispose]: async () => void (release(), server.stop(true)) };
}

test("a removal recorded while `new` waits on its broker survives new's save", async () => {
  await using team = await cliTeam(["alice", "carol"]);
  const [alice, carol] = team.dirs;
  ok(await cli(alice, ["kick", "carol"]), "kick");
  await using slow = slowCreates(team.b.url);

  // carol starts a mesh of her own on a slow broker: `new` has read her config and waits.
  await using created = cliStream(carol, ["new", "Side project", "--broker", slow.url, "--json"]);
  await until(() => slow.held() === 1 || created.proc.exitCode !== null, "new to ask the broker");
  // Meanwhile another command of hers is refused as removed, which is written to config.json.
  expect((await cli(carol, ["peers", "--mesh", team.mesh.slug])).code).toBe(3);
  slow.release();
  await created.finished();
  expect({ code: created.proc.exitCode, stderr: created.stderr() }).toEqual({ code: 0, stderr: "" });

  const listed = ok(await cli(carol, ["list", "--json"])).json().meshes;
  expect(listed.map((m: { slug: string; removedAt: number | null }) => [m.slug, m.removedAt === null ? "current" : "removed"])).toEqual([
    [team.mesh.slug, "removed"],
    ["side-project", "current"],
  ]);
});
