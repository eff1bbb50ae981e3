// `claudemesh serve --check [--json]`: shows what it checks (the data directory, the listen
// address, the public URL, the TLS certificate, every setting with where its value came from),
// then checks that the TLS certificate and key can be served, that the host resolves, the address
// and port can be listened on, and the database opens (and migrates), passes quick_check, holds
// audit chains that all verify, and is writable. Exits 0 when so, or when
// a live broker holds the data directory (its database is then left alone); otherwise with the code
// `serve` would exit with (serve-problems.ts ServeExit: 65 damaged data, 77 not permitted, 1 what
// may pass), and 2 for a bad setting (serve.ts).
import { resolve } from "node:path";
import { ignoredFileValues, ignoredFileValueText, processEnv, type BrokerConfig, type ResolvedConfig } from "../../config/load.ts";
import { unknownEnv, unknownEnvText } from "../../config/env-names.ts";
import { formatDurationMs, SETTINGS, type SettingKey } from "../../config/spec.ts";
import { fail as failPlain, hostProblem, listenProblem, readTls, ServeExit, storageReason } from "../serve-problems.ts";
import type { CertificateFacts } from "../../config/tls-files.ts";
import { makeDirs } from "../../local-file/dirs.ts";

const listenAddress = (c: BrokerConfig) => `${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;

/** A setting's value as operations.md writes it: durations with a unit, lists with commas. */
function shown(key: SettingKey, value: unknown): string {
  const kind = SETTINGS.find((s) => s.key === key)!.kind;
  if (Array.isArray(value)) return value.join(",") || "(none)";
  if (kind.type === "duration") return formatDurationMs(value as number);
  return String(value) || "(none)";
}

/** The certificate the broker would serve, as the report shows it (null: plain HTTP). */
type TlsReport = { certFile: string; keyFile: string } & CertificateFacts;

/** The human report of what is checked: three lines for where (four with TLS), then every
 *  setting and its source. */
function settingsText({ config, origins }: ResolvedConfig, tls: TlsReport | null): string {
  const rows = SETTINGS.map((s) => [s.key, shown(s.key, s.key === "dataDir" ? resolve(config.dataDir) : config[s.key]), origins[s.key].name]);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return [
    `data dir    ${resolve(config.dataDir)}`,
    `listen      ${listenAddress(config)}`,
    `public URL  ${config.publicUrl || `(none: links and banners use ${tls ? "https" : "http"}://${listenAddress(config)})`}`,
    ...(tls ? [`TLS         ${tls.names.join(", ") || tls.subject} (issuer ${tls.issuer}), serial ${tls.serial}, ${tls.notBefore} to ${tls.notAfter}, ${tls.chain} certificate${tls.chain === 1 ? "" : "s"} in ${tls.certFile}; key ${tls.keyFile}`] : []),
    "settings (value, then where it came from):",
    ...rows.map(([k, v, from]) => `  ${k!.padEnd(w0)}  ${v!.padEnd(w1)}  ${from}`),
  ].join("\n");
}

function settingsJson({ config, origins }: ResolvedConfig) {
  return {
    dataDir: resolve(config.dataDir),
    listen: listenAddress(config),
    publicUrl: config.publicUrl || null,
    settings: Object.fromEntries(SETTINGS.map((s) => [s.key, { value: s.key === "dataDir" ? resolve(config.dataDir) : config[s.key] === "" ? null : config[s.key], source: origins[s.key].kind, from: origins[s.key].name }])),
  };
}

export async function check(resolved: ResolvedConfig, json: boolean): Promise<never> {
  const { config } = resolved;
  const { brokenChain, checkStore, damaged, migrationSentence } = await import("../../broker/store-check.ts");
  const { chainsVerified } = await import("../../broker/audit-verifier.ts");
  const { claimDataDir, describeHolder, mayBeHeld, releaseDataDir } = await import("../../broker/pid-file.ts");
  const unknown = unknownEnv(processEnv());
  const ignored = ignoredFileValues(resolved);
  const report = { ...settingsJson(resolved), tls: null as TlsReport | null, unknownEnvironment: unknown.map((u) => ({ name: u.name, didYouMean: u.meant })), ignoredFileValues: ignored };
  if (!json) for (const text of [...unknown.map(unknownEnvText), ...ignored.map(ignoredFileValueText)]) process.stderr.write(`claudemesh serve: warning: ${text}.\n`);
  const fail = (message: string, fix: string | null = null, exit?: number): never => {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: message, fix, ...report }, null, 2) + "\n");
    return failPlain(message, fix, exit);
  };
  // The report comes with the verdict: a failure is one line on stderr and nothing on stdout (in
  // JSON, both), as before the report existed.
  const done = (database: object, lines: string[], code = 0): never => {
    process.stdout.write(json ? JSON.stringify({ ok: code === 0, ...report, database }, null, 2) + "\n" : [settingsText(resolved, report.tls), ...lines].join("\n") + "\n");
    process.exit(code);
  };
  // The certificate and key as `serve` reads them (tls-files.ts), with its exit code on a refusal.
  if (config.tlsCert) report.tls = { certFile: config.tlsCert, keyFile: config.tlsKey, ...(await readTls(config.tlsCert, config.tlsKey, null, fail)).certificate };
  // A hostname that passes the syntax check may still not resolve; the start would then fail.
  const unresolved = await hostProblem(config.host);
  if (unresolved) fail(...unresolved);
  // The address must be one this machine has, and the port free: `serve` would fail to listen, and
  // a supervisor restart it in a loop. A live broker of this data directory holds the port itself,
  // but only a directory with a lock file can have one: without it, fail before anything is made.
  const bind = listenProblem(config.host, config.port);
  if (bind && !mayBeHeld(config.dataDir)) fail(...bind);
  // Opening the store may migrate the database: never under a live broker or a restore, and it
  // holds the data directory meanwhile, so that a `serve` started now waits its turn instead of
  // migrating the same file at the same time.
  let holder: ReturnType<typeof claimDataDir>;
  try {
    holder = claimDataDir(config.dataDir, "broker", { made: makeDirs(config.dataDir) });
  } catch (err) {
    return fail(...(await storageReason(`cannot check ${config.dataDir}`, err, config)));
  }
  if (holder !== null) {
    const held = `${describeHolder(holder, config.dataDir)}, so the database was not opened`;
    // The settings printed are resolved from this command's environment, flags and files, which
    // need not be the running broker's (a shell beside a systemd service): said plainly.
    const whose = `the settings above are this command's (its environment, flags and config file), not necessarily those of${holder.kind === "linked" ? " the broker holding the database" : ` PID ${holder.pid > 0 ? holder.pid : "(unknown)"}`}: a running broker's own are in its "broker listening" log line`;
    return done({ heldBy: holder, settingsAreThisCommands: true }, [whose, `configuration ok; ${held}`]);
  }
  if (bind) {
    releaseDataDir(config.dataDir, "broker");
    fail(...bind);
  }
  const h = await checkStore(config).catch(async (err: Error) => {
    releaseDataDir(config.dataDir, "broker");
    return fail(...(await storageReason(`cannot open the database in ${config.dataDir}`, err, config)));
  });
  releaseDataDir(config.dataDir, "broker");
  const migrated = migrationSentence(h.migration);
  const problem = h.integrity !== "ok" ? damaged(config.dataDir, h.integrity) : h.chains!.broken && brokenChain(config.dataDir, h.chains!.broken);
  if (problem) fail(`${migrated ? `${migrated}; but ` : ""}${problem}`, null, ServeExit.badData);
  const { meshes, entries } = h.chains!;
  const database = { writable: h.writable, schemaVersion: h.schemaVersion, quickCheck: h.integrity, auditChains: { meshes, entries }, migration: h.migration && h.migration.from > 0 ? h.migration : null };
  return done(database, [chainsVerified({ meshes, entries }), ...(migrated ? [migrated] : []), `configuration ok; database ${h.writable ? "writable" : "NOT writable"} at schema version ${h.schemaVersion}`], h.writable ? 0 : 1);
}
