// The display name a first-time user gets (first-run review M1): with $USER unset (containers, CI)
// or set to "unknown", `new` and `join` no longer enrol everybody as "unknown"; they fall back to
// $LOGNAME, the account name, then the host name, and say the name was a guess. Both commands take
// --display-name (join's older --name still works).
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { startBroker } from "../helpers/broker.ts";
import { cli, identities, ok } from "../helpers/cli.ts";

/** What `id -un` says here, else the host name: the guess with no $USER and no $LOGNAME. */
function accountOrHost(): string {
  const r = Bun.spawnSync(["id", "-un"], { stdout: "pipe", stderr: "ignore" });
  const name = r.exitCode === 0 ? r.stdout.toString().trim() : "";
  return name && name !== "unknown" ? name : hostname().split(".")[0]!;
}

describe("display names", () => {
  test("with $USER unset or 'unknown', new and join guess a real name and say so", async () => {
    await using b = await startBroker();
    await using ids = identities(4);
    const [owner, bob, carol, dana] = ids.dirs as [string, string, string, string];
    const guess = accountOrHost();
    const made = await cli(owner, ["new", "Shop team", "--broker", b.url], { env: { USER: "", LOGNAME: "" } });
    expect({ code: made.code, first: made.stdout.split("\n")[0] }).toEqual({ code: 0, first: `Created mesh "Shop team" (shop-team) on ${b.url}. You are its owner, "${guess}" (guessed from this machine; pass --display-name to choose).` });
    expect(ok(await cli(owner, ["whoami", "--json"])).json().identities[0].displayName).toBe(guess);

    const invite = async () => ok(await cli(owner, ["invite", "--json"])).json().link as string;
    const unknown = await cli(bob, ["join", await invite(), "--json"], { env: { USER: "unknown", LOGNAME: "bob-login" } });
    expect({ code: unknown.code, name: unknown.json().member?.displayName }).toEqual({ code: 0, name: "bob-login" });
    const human = await cli(carol, ["join", await invite()], { env: { USER: "carol" } });
    expect({ code: human.code, first: human.stdout.split("\n")[0] }).toEqual({ code: 0, first: 'Joined "Shop team" (shop-team) as carol (member), a name guessed from this machine (to choose another: leave, then join again with --display-name).' });
    const chosen = await cli(dana, ["join", await invite(), "--display-name", "Dana K", "--json"], { env: { USER: "" } });
    expect({ code: chosen.code, name: chosen.json().member?.displayName, stderr: chosen.stderr }).toEqual({ code: 0, name: "Dana K", stderr: "" });
    const names = ok(await cli(owner, ["peers", "--json"])).json().peers.map((p: { displayName: string }) => p.displayName).sort();
    expect(names).toEqual(["Dana K", "bob-login", "carol", guess].sort());
  }, 60_000);

  test("an empty or control-character --display-name is a usage error before anything is created", async () => {
    await using b = await startBroker();
    await using ids = identities(1);
    const [owner] = ids.dirs as [string];
    const takes = 'it takes 1–64 characters of visible text, without ":" or "/" and not starting with "#" or "@" (e.g. "Alice K").';
    for (const [name, message] of [["", `--display-name is empty; ${takes}`], ["  ", `--display-name is empty; ${takes}`], ["a\u0007b", `--display-name holds U+0007, a control, invisible or text-direction character; ${takes}`], ["n".repeat(65), "--display-name is 65 characters; the limit is 64."]]) {
      const r = await cli(owner, ["new", "t", "--broker", b.url, "--display-name", name!, "--json"]);
      expect({ name, code: r.code, json: r.json() }).toEqual({ name, code: 2, json: { error: { code: "usage", message, fix: "see `claudemesh new --help`" } } });
    }
    expect(ok(await cli(owner, ["list", "--json"])).json()).toEqual({ meshes: [] });
  }, 60_000);
});
