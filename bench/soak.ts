// `bun run soak [-- --quick] [--minutes 30] [--step-s 30] [--start-rate 50] [--factor 1.5]
// [--max-steps 20] [--retries 1] [--warmup-min 5] [--sample-s 5] [--broker-arg=--flag=value ...]`: the reliability plan's load-and-soak test
// (reliability.md T8; docs/benchmarks.md "Session 24: load and soak"). A broker (`claudemesh
// serve` from source, pinned to CPU 0, load flags) and 300 authenticated members (the mesh owner
// and 299 invite claims) connected from this process, which re-executes itself pinned to CPU 1.
// The owner and 20 members are in one topic. Traffic: 80 % DMs and 20 % posts to the topic (each
// pushed to its 20 other members), ~1 KiB of ciphertext each, every push acked.
//  1. Ramp: the offered rate starts at --start-rate sends/s and is multiplied by --factor each
//     step of --step-s seconds, until a step fails (p99 send → push > 100 ms, the offered or the
//     delivered rate short of 97 % of the target, an error frame or a closed socket) --retries + 1
//     times in a row (the machine is shared: a foreign burst can fail one run). The best passing
//     step is the capacity.
//  2. Soak: 70 % of the capacity for --minutes, read every --sample-s seconds (latency, broker
//     RSS, CPU, fds, -wal size, event-loop lag, queue depth, idle collections); then a drain and
//     the count of acked messages that some recipient never received.
// --broker-arg (repeatable) is added to the broker's `serve` flags (e.g. --broker-arg=--dedup-window=10m).
// --quick: 2 ramp steps of 5 s (no retry) and a 30 s soak, for CI (test/integration/soak.test.ts).
// Progress goes to stderr; the LAST stdout line is one JSON object (soak-report.ts). Exit 0 once
// the run completed, whatever the verdict; 1 when the harness failed; 2 on a bad flag.
import { parseArgs } from "node:util";
import { machine } from "./machine.ts";
import { CIPHERTEXT_1KIB, PeerSet, brokerDialect } from "./peers.ts";
import { killAllServers, runPinnedToCpu1, startBroker } from "./servers.ts";
import { setupMesh, setupTopic } from "./setup.ts";
import { log, runRamp, runSoak, stepRate, type RampOpts } from "./soak-phases.ts";
import { soakReport } from "./soak-report.ts";
import { BrokerSampler } from "./soak-sampler.ts";
import { MixedTraffic } from "./soak-traffic.ts";

/** Authenticated connections: the owner and PEERS - 1 claimed members. */
const PEERS = 300;
/** The topic's members are peers 0 … TOPIC_MEMBERS - 1 (the owner leads it): each post is pushed
 *  to the TOPIC_MEMBERS - 1 = 20 others. */
const TOPIC = "soak";
const TOPIC_MEMBERS = 21;
/** Every 5th send is a topic post: 20 %. */
const TOPIC_EVERY = 5;
/** The soak runs at this share of the best ramp step. */
const SOAK_SHARE = 0.7;

const FULL = { minutes: 30, "step-s": 30, "start-rate": 50, factor: 1.5, "max-steps": 20, retries: 1, "warmup-min": 5, "sample-s": 5, drainS: 60 };
const QUICK = { ...FULL, minutes: 0.5, "step-s": 5, "max-steps": 2, retries: 0, "warmup-min": 10 / 60, drainS: 10 };

function options(argv: string[]) {
  const num = { type: "string" } as const;
  const { values } = parseArgs({ args: argv, options: { quick: { type: "boolean", default: false }, minutes: num, "step-s": num, "start-rate": num, factor: num, "max-steps": num, retries: num, "warmup-min": num, "sample-s": num, "broker-arg": { type: "string", multiple: true } } });
  const base = values.quick ? QUICK : FULL;
  const read = (k: keyof typeof FULL & keyof typeof values, min: number, example: string) => {
    const raw = values[k] as string | undefined;
    const v = raw === undefined ? base[k] : Number(raw);
    if (!Number.isFinite(v) || v < min) {
      console.error(`soak: --${k} must be a number ≥ ${min}, e.g. --${k} ${example}`);
      process.exit(2);
    }
    return v;
  };
  const o = {
    quick: values.quick!,
    minutes: read("minutes", 0.1, "30"),
    stepS: read("step-s", 2, "30"),
    startPerS: read("start-rate", 1, "50"),
    factor: read("factor", 1.01, "1.5"),
    maxSteps: Math.floor(read("max-steps", 1, "20")),
    retries: Math.floor(read("retries", 0, "1")),
    warmupMin: read("warmup-min", 0, "5"),
    sampleS: read("sample-s", 1, "5"),
    drainS: base.drainS,
    brokerArgs: values["broker-arg"] ?? [],
  };
  return o;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = options(argv);
  const taskset = Bun.which("taskset");
  await runPinnedToCpu1(taskset, import.meta.path, argv);
  if (!taskset) log("taskset not found: broker and load generator run UNPINNED");
  process.on("SIGINT", () => (killAllServers(), process.exit(130)));
  const t0 = performance.now();

  await using broker = await startBroker({ synchronous: "full", taskset, extraArgs: o.brokerArgs });
  log(`broker pid ${broker.pid} at ${broker.httpUrl}`);
  const { owner, members, ms } = await setupMesh(broker.httpUrl, broker.wsUrl, PEERS - 1);
  const everyone = [owner, ...members];
  await setupTopic(broker.wsUrl, TOPIC, owner, members.slice(0, TOPIC_MEMBERS - 1));
  const ps = new PeerSet(brokerDialect(everyone, CIPHERTEXT_1KIB), broker.wsUrl);
  await ps.connect([...everyone.keys()]);
  log(`${PEERS} members set up in ${(ms / 1000).toFixed(1)} s and connected; #${TOPIC} has ${TOPIC_MEMBERS} members`);

  const traffic = new MixedTraffic(ps, { peers: PEERS, topic: TOPIC, topicMembers: [...Array(TOPIC_MEMBERS).keys()], topicEvery: TOPIC_EVERY });
  const sampler = new BrokerSampler(broker);
  const ramp: RampOpts = { startPerS: o.startPerS, factor: o.factor, stepS: o.stepS, maxSteps: o.maxSteps, retries: o.retries };
  const steps = await runRamp(traffic, sampler, ramp, o.drainS * 1000);
  const passed = steps.filter((s) => s.failed.length === 0);
  const capacityPerS = passed.length > 0 ? Math.max(...passed.map((s) => s.targetPerS)) : null;
  // With no passing step the soak still runs, at 70 % of the first, and its verdict says so.
  const soakRatePerS = Math.max(1, Math.round(SOAK_SHARE * (capacityPerS ?? stepRate(ramp, 0))));
  const durationS = o.minutes * 60;
  const warmupS = Math.min(o.warmupMin * 60, durationS / 2);
  log(`capacity ${capacityPerS ?? "none (no step passed)"} sends/s; soaking at ${soakRatePerS}/s for ${o.minutes} min (warm-up ${warmupS} s)`);
  const { windows, drained } = await runSoak(traffic, sampler, { ratePerS: soakRatePerS, durationS, sampleS: o.sampleS }, o.drainS * 1000);
  ps.close();

  const report = soakReport({
    mode: o.quick ? "quick" : "full",
    ramp: steps,
    capacityPerS,
    soakRatePerS,
    windows,
    warmupS,
    drained,
    totals: traffic.ledger.totals,
    loss: traffic.ledger.loss(),
    method: {
      pinned: taskset ? "broker on CPU 0, load generator on CPU 1 (taskset)" : "UNPINNED (taskset missing)",
      synchronous: "full",
      ...(o.brokerArgs.length > 0 ? { broker_args: o.brokerArgs } : {}),
      peers: PEERS,
      topic_members: TOPIC_MEMBERS,
      topic_share: 1 / TOPIC_EVERY,
      ciphertext_b64_bytes: CIPHERTEXT_1KIB.length,
      ramp: { start_per_s: o.startPerS, factor: o.factor, step_s: o.stepS, max_steps: o.maxSteps, retries: o.retries },
      soak: { share: SOAK_SHARE, minutes: o.minutes, sample_s: o.sampleS, warmup_s: warmupS },
      setup_ms: Math.round(ms),
    },
    machine: machine(),
    wallS: (performance.now() - t0) / 1000,
  });
  const v = report.verdict;
  log(`verdict: ${report.pass ? "PASS" : "FAIL"} (${Object.entries(v).map(([k, x]) => `${k} ${x.value} ${x.pass ? "ok" : "FAIL"}`).join(", ")}); idle collections during the soak: ${report.checks.idle_collections_during_soak}`);
  process.stdout.write(JSON.stringify(report) + "\n");
}

try {
  await main();
} catch (err) {
  log(`failed: ${(err as Error).stack}`);
  killAllServers();
  process.exit(1);
}
