// A command that meets a broker draining after SIGTERM (docs/operations.md "Signals and shutdown"):
// the broker closes every connection with 1001 "going away", a cause that is known, so the CLI
// says the broker is shutting down or restarting and to retry in a moment, not "Broker closed the
// connection (1001 Server closed)" or, after its one retry found the broker gone, "Is it running,
// and is the URL right?". The proxy holds the command's writes at one step while the broker stops.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliMesh, identities } from "../helpers/cli.ts";
import { gateProxy } from "../helpers/gate-proxy.ts";
import { spawnBroker } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/until.ts";

/** Points every mesh of config dir `dir` at `url`. */
function pointAt(dir: string, url: string): void {
  const path = join(dir, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8"));
  for (const m of config.meshes) m.brokerUrl = url;
  writeFileSync(path, JSON.stringify(config));
}

/** `send bob hi` held after `passChunks` writes, the broker stopped with SIGTERM meanwhile. */
async function sendWhileStopping(passChunks: number) {
  await using broker = await spawnBroker(tempDir("cm-draining-"));
  await using ids = identities(2);
  await cliMesh(broker.url, [[ids.dirs[0]!, "alice"], [ids.dirs[1]!, "bob"]]);
  using gate = gateProxy(Number(new URL(broker.url).port), passChunks);
  pointAt(ids.dirs[0]!, gate.url);
  const sending = cli(ids.dirs[0]!, ["send", "bob", "hi"], { env: { CLAUDEMESH_TIMEOUT: "20s" } });
  await until(() => gate.held() > 0, "the send to wait at the gate");
  broker.proc.kill("SIGTERM");
  const r = await sending;
  return { code: r.code, stderr: r.stderr.replaceAll(gate.url, "URL").replace(/--client-message-id \S+/, "--client-message-id ID") };
}

const GONE = "the broker at URL is shutting down or restarting and closed the connection before it answered";

describe("a send against a broker shutting down", () => {
  test.each([
    ["its hello unanswered", 1, "claudemesh: The broker at URL is shutting down or restarting (it closed the connection: 1001 going away), so nothing was sent. Retry in a moment.\n"],
    // The name is looked up with peer_lookup (protocol §4.3.28), no longer by listing every peer.
    ["its recipient lookup in flight", 2, `claudemesh: Looking up the peer failed: ${GONE}. Nothing was changed; try again in a moment.\n`],
    [
      "the message in flight",
      4,
      `claudemesh: Sending the message failed: ${GONE}.\n  fix: the broker may have stored it: to send it again without a duplicate, run the same command with --client-message-id ID\n`,
    ],
  ])("with %s: says so, exit 6", async (_step, passChunks, said) => {
    expect(await sendWhileStopping(passChunks)).toEqual({ code: 6, stderr: said });
  }, 60_000);
});
