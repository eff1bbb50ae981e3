// The root command: static meta and args for every sub-command, modules imported only on use, so
// `claudemesh --help` loads nothing heavy.
import { defineCommand, runCommand, runMain, type ArgsDef, type CommandDef } from "citty";
import { VERSION } from "../version.ts";
import { lazyCommand } from "./lazy.ts";
import { serveArgs } from "./args.ts";
import { commandAt, printUsage, usageMessage } from "./usage.ts";
import { exitFlushed, reportError, UsageError, writeStdout } from "./output.ts";
import { FlagError, refuseStrayWords, splitWords } from "./flags-check.ts";
import { MAX_REASON_LEN } from "../protocol/limits.ts";
import { CAPS, INVITE_ROLES, PRIORITIES, STATUSES } from "../protocol/choices.ts";
import { choiceArg } from "./choice-arg.ts";
import { HOOK_EVENTS } from "./claude-code/hook-events.ts";
import { SHELLS } from "./completion/shells.ts";

const json = { json: { type: "boolean", description: "Print one JSON document on stdout (for scripts)." } } as const;
const mesh = { mesh: { type: "string", alias: "m", description: "Mesh slug or id (needed when you are in several; default: $CLAUDEMESH_MESH)." } } as const;
const common = { ...json, ...mesh } satisfies ArgsDef;
/** A send whose outcome was unknown is retried under the id it printed, never stored twice. */
const retryId = { "client-message-id": { type: "string", description: "retry a failed send under the id it printed (no duplicate)" } } satisfies ArgsDef;
const priority = { priority: choiceArg("string", PRIORITIES, "(default next)", { alias: "p" }) } satisfies ArgsDef;
/** How free text that starts with "-" or comes from a pipe is given, said in send's and post's help. */
const TEXT_HELP = 'Text that starts with "-" goes after "--"; "-" reads the text from stdin.';
const pos = (name: string, description: string, required = true) => ({ [name]: { type: "positional", description, required } }) as ArgsDef;

const cmd = (name: string, description: string, args: ArgsDef, load: () => Promise<any>, opts?: { rest?: boolean }) => lazyCommand({ name, description }, args, load, opts);
/** `cmd` for the commands under `parent` (topic, group, invite, audit, admin). */
const sub = (parent: string) => (name: string, description: string, args: ArgsDef, load: () => Promise<any>, opts?: { rest?: boolean }) => lazyCommand({ name, description }, args, load, { ...opts, parent });
const topicCmd = sub("topic");
const groupCmd = sub("group");
const inviteCmd = sub("invite");
const auditCmd = sub("audit");
const adminCmd = sub("admin");

const topic = defineCommand({
  meta: { name: "topic", description: "Topics: named channels with history. Example: claudemesh topic post general 'deploy done'" },
  subCommands: {
    create: topicCmd("create", "Create a topic. Example: claudemesh topic create backend --description 'API work'", { ...pos("name", "topic name (a-z 0-9 - _)"), description: { type: "string", description: "what it is for" }, ...common }, () => import("./commands/topic.ts").then((m) => ({ run: m.create }))),
    list: topicCmd("list", "List topics and whether you joined them. Example: claudemesh topic list --json", common, () => import("./commands/topic.ts").then((m) => ({ run: m.list }))),
    join: topicCmd("join", "Join a topic. Example: claudemesh topic join backend", { ...pos("name", "topic"), ...common }, () => import("./commands/topic.ts").then((m) => ({ run: m.join }))),
    leave: topicCmd("leave", "Leave a topic. Example: claudemesh topic leave backend", { ...pos("name", "topic"), ...common }, () => import("./commands/topic.ts").then((m) => ({ run: m.leave }))),
    history: topicCmd("history", "Show a topic's latest messages, decrypted, oldest of them first; --after pages forward from an offset instead. Example: claudemesh topic history general --limit 20", { ...pos("name", "topic"), after: { type: "string", description: "the messages right after this offset (oldest first) instead of the latest" }, limit: { type: "string", description: "most messages (default 50): the latest ones, or the first ones after --after" }, ...common }, () => import("./commands/topic.ts").then((m) => ({ run: m.history }))),
    post: topicCmd("post", `Post to a topic. ${TEXT_HELP} Example: claudemesh topic post general 'main is green'`, { ...pos("name", "topic"), ...pos("message", "text, or - to read it from stdin"), ...priority, ...retryId, ...common }, () => import("./commands/topic.ts").then((m) => ({ run: m.post })), { rest: true }),
  },
});

const group = defineCommand({
  meta: { name: "group", description: "Groups: @name labels members put themselves in; `send @name` reaches every member in it. Example: claudemesh group join frontend" },
  subCommands: {
    join: groupCmd("join", "Put yourself in a group (nothing to create first). Example: claudemesh group join frontend", { ...pos("name", "group name (a-z 0-9 - _ /)"), ...common }, () => import("./commands/group.ts").then((m) => ({ run: m.join }))),
    leave: groupCmd("leave", "Take yourself out of a group. Example: claudemesh group leave frontend", { ...pos("name", "group name"), ...common }, () => import("./commands/group.ts").then((m) => ({ run: m.leave }))),
    list: groupCmd("list", "Every group of the mesh with its members, and whether you are in it. Example: claudemesh group list --json", common, () => import("./commands/group.ts").then((m) => ({ run: m.list }))),
  },
});

const inviteArgs = { role: choiceArg("string", INVITE_ROLES, `(default ${INVITE_ROLES[0]})`), "max-uses": { type: "string", description: "how many people may join with it (default 1)" }, expires: { type: "string", description: "lifetime like 30m, 12h, 7d (default 7d)" }, ...common } satisfies ArgsDef;
const invite = defineCommand({
  meta: { name: "invite", description: "Create a signed invite link. Example: claudemesh invite --max-uses 3 --expires 2d" },
  args: inviteArgs,
  subCommands: {
    list: inviteCmd("list", "List this mesh's open invites with uses left; --all lists the closed ones too. Example: claudemesh invite list --json", { all: { type: "boolean", alias: "a", description: "also the invites that were revoked, used up or expired (every invite the mesh had)" }, ...common }, () => import("./commands/invite.ts").then((m) => ({ run: m.list }))),
    revoke: inviteCmd("revoke", "Revoke an invite. Example: claudemesh invite revoke AbC123xyz", { ...pos("id", "invite id"), ...common }, () => import("./commands/invite.ts").then((m) => ({ run: m.revoke }))),
  },
  // Before citty hands `list`/`revoke` the words after them: an option before one would be lost
  // (`invite --mesh b list` listed the only mesh's invites, or failed with "several meshes").
  setup({ rawArgs }) {
    const end = rawArgs.indexOf("--");
    const head = end < 0 ? rawArgs : rawArgs.slice(0, end);
    const { options, positionals, unknown } = splitWords(head, inviteArgs);
    const sub = positionals.find((w) => !w.startsWith("-"));
    if (unknown && (!sub || unknown.index < head.indexOf(sub))) refuseStrayWords(head, inviteArgs);
    if (sub && options.length > 0 && rawArgs.indexOf(options[0]!) < rawArgs.indexOf(sub)) {
      throw new FlagError(`Options go after the command: claudemesh invite ${sub} ${options.join(" ")}`, options[0]!);
    }
    if (end >= 0 && !sub && rawArgs.length > end + 1) throw new FlagError("`claudemesh invite` takes no words after --", "--");
  },
  async run({ args, rawArgs }) {
    // citty runs this after `invite list|revoke` too; a command word means that already ran.
    if (splitWords(rawArgs, inviteArgs).positionals.length > 0) return;
    refuseStrayWords(rawArgs, inviteArgs);
    await (await import("./commands/invite.ts")).create({ ...args, commandPath: "invite" });
  },
});

const audit = defineCommand({
  meta: { name: "audit", description: "The mesh's tamper-evident audit log. Example: claudemesh audit verify" },
  subCommands: {
    log: auditCmd("log", "Show audit entries. Example: claudemesh audit log --limit 20", { limit: { type: "string", description: "most entries (default 50)" }, ...common }, () => import("./commands/audit.ts").then((m) => ({ run: m.log }))),
    verify: auditCmd("verify", "Fetch the whole chain, recompute it, and compare with what you verified before. Example: claudemesh audit verify --json", { accept: { type: "boolean", description: "after an operator's restore you confirmed: take the broker's valid chain in place of the head verified before" }, ...common }, () => import("./commands/audit.ts").then((m) => ({ run: m.verify }))),
  },
});

const dataDir = { "data-dir": { type: "string", description: "the broker's data directory (default as for serve)" }, config: { type: "string", description: "the broker's config file, for its dataDir (as serve --config)" } } as const;
const admin = defineCommand({
  meta: { name: "admin", description: "Operate a broker's data directory: backups, restore, operator token. Example: claudemesh admin backup --data-dir /var/lib/claudemesh" },
  subCommands: {
    backup: adminCmd("backup", "Online, consistent backup of the broker database (VACUUM INTO + integrity_check + every audit chain verified; a copy whose chain does not verify is kept as FILE.partial, and the command fails). Example: claudemesh admin backup --out /srv/backups/cm.db", { out: { type: "string", description: "backup file (default <data-dir>/backups/claudemesh-<time>.db)" }, ...dataDir, ...json }, () => import("./commands/admin-backup.ts").then((m) => ({ run: m.backup }))),
    restore: adminCmd("restore", "Restore the broker database from a backup (broker stopped); refuses a backup that fails integrity_check or whose audit chain does not verify, changing nothing. Example: claudemesh admin restore /srv/backups/cm.db", { ...pos("file", "backup file"), force: { type: "boolean", description: "replace an existing database" }, ...dataDir, ...json }, () => import("./commands/admin-backup.ts").then((m) => ({ run: m.restore }))),
    token: adminCmd("token", "Issue a new operator token for the dashboard's broker-wide views (the old one stops working). Example: claudemesh admin token", { ...dataDir, ...json }, () => import("./commands/admin-token.ts")),
  },
});

/** One option name for the name you enrol with, in `new` and `join`. */
const displayName = { "display-name": { type: "string", description: "your name in the mesh (default: your login name; no command renames you later)" } } satisfies ArgsDef;
const peerArg = pos("peer", "display name, key prefix, or full key");
const reasonArg = { reason: { type: "string", description: `recorded in the audit log (at most ${MAX_REASON_LEN} characters)` } } satisfies ArgsDef;
const capsArg = { caps: choiceArg("positional", [...CAPS, "all"], "(capabilities, one or more)", { required: true, many: true }) } as ArgsDef;

const main = defineCommand({
  meta: { name: "claudemesh", version: VERSION, description: "A private, end-to-end encrypted mesh for AI coding agents." },
  subCommands: {
    serve: lazyCommand({ name: "serve", description: "Run the broker (HTTP + WebSocket, embedded SQLite). Durations take a unit: 500ms, 30s, 5m, 2h, 7d (a plain number is milliseconds). Example: claudemesh serve --host 0.0.0.0 --public-url https://mesh.example.com --data-dir /var/lib/claudemesh" }, serveArgs, () => import("./commands/serve.ts"), { ownArgv: true }),
    new: cmd("new", "Create a mesh on a broker; keys are made here. Example: claudemesh new my-team --broker https://mesh.example.com", { ...pos("name", "mesh name"), broker: { type: "string", description: "broker URL (or CLAUDEMESH_BROKER_URL)" }, slug: { type: "string", description: "short id (default: from the name)" }, ...displayName, ...json }, () => import("./commands/new.ts")),
    invite,
    join: cmd("join", "Join a mesh with an invite link. On a shared machine give it on stdin: an argument is visible to other users (ps) while join runs. Example: claudemesh join - < invite.txt", { ...pos("link", "ic://join/… or https://…/join#…; - or none: read it from stdin", false), ...displayName, name: { type: "string", description: "same as --display-name (its older spelling; give one of the two)" }, ...json }, () => import("./commands/join.ts")),
    list: cmd("list", "Joined meshes, identities and broker reachability. Example: claudemesh list --json", json, () => import("./commands/list.ts")),
    leave: cmd("leave", "Leave a mesh: tell the broker, then delete the local keys. Example: claudemesh leave my-team --yes", { ...pos("slug", "mesh slug, or its id when two joined meshes share the slug; always named, even for your only mesh", false), yes: { type: "boolean", alias: "y", description: "do not ask for confirmation" }, forget: { type: "boolean", description: "only delete this machine's keys, without telling the broker (an owner's only way out; or a broker that is gone)" }, ...json }, () => import("./commands/leave.ts")),
    "set-broker": cmd("set-broker", "Give a mesh's broker URL after the broker moved (a TLS proxy in front, a new host): saved only once a signed hello there is accepted for this mesh, with the owner key you trust (take the URL from the broker's operator: the check catches a wrong address, not an impostor). Example: claudemesh set-broker https://mesh.example.com --mesh my-team", { ...pos("url", "the broker's new URL (http:// or https://, as its operator gives it)"), ...common }, () => import("./commands/set-broker.ts")),
    whoami: cmd("whoami", "Your identity in each mesh, or in the one --mesh or $CLAUDEMESH_MESH names. Example: claudemesh whoami --mesh my-team", common, () => import("./commands/whoami.ts")),
    peers: cmd("peers", "Who is in the mesh: status, summary, @groups, where, last seen. Example: claudemesh peers --all", { all: { type: "boolean", alias: "a", description: "also list offline Claude Code sessions (members are always listed)" }, ...common }, () => import("./commands/peers.ts")),
    send: cmd("send", `Send an end-to-end encrypted message. ${TEXT_HELP} Example: claudemesh send bob 'what does /orders return?'`, { ...pos("to", "name, key prefix, #topic, @group or *; mesh:name picks the mesh"), ...pos("message", "text, or - to read it from stdin"), ...priority, ...retryId, ...common }, () => import("./commands/send.ts"), { rest: true }),
    reply: cmd("reply", `Answer a message you read, by the id inbox shows (under a question, the command to run): it goes to the session or member that sent it, as the reply its mesh_ask waits for. ${TEXT_HELP} Example: claudemesh reply V7-ZTk0gAivEQ0CJCJEfIw 'port 8080'`, { ...pos("id", "the message's id (inbox --json and inbox --all --json show every id)"), ...pos("message", "text, or - to read it from stdin"), priority: choiceArg("string", PRIORITIES, "(default now for a question, whose asker waits; else next)", { alias: "p" }), ...retryId, ...json, mesh: { ...mesh.mesh, description: "Mesh slug or id to look for the message in (default: every mesh joined, $CLAUDEMESH_MESH aside: the id names one message)." } }, () => import("./commands/reply.ts"), { rest: true }),
    inbox: cmd("inbox", "Read new messages (decrypted). Example: claudemesh inbox --follow", { follow: { type: "boolean", alias: "f", description: "keep streaming new messages" }, all: { type: "boolean", alias: "a", description: "show the messages read before (this machine's history, works offline) instead of new ones; with --follow, first, then new ones stream" }, limit: { type: "string", description: "with --all: most messages (default 50)" }, ...common }, () => import("./commands/inbox.ts")),
    status: cmd("status", "Set your status, or with no argument show your status and summary. Example: claudemesh status dnd", { status: choiceArg("positional", STATUSES, "(none: show them)", { required: false }), ...common }, () => import("./commands/status.ts").then((m) => ({ run: m.status }))),
    summary: cmd("summary", "Say what you are working on (\"\" clears it). Example: claudemesh summary 'migrating billing to v2'", { ...pos("text", "summary"), ...common }, () => import("./commands/status.ts").then((m) => ({ run: m.summary })), { rest: true }),
    topic,
    group,
    grant: cmd("grant", "Allow a peer to reach you. Example: claudemesh grant bob dm topic", { ...peerArg, ...capsArg, ...common }, () => import("./commands/grants.ts").then((m) => ({ run: m.grant })), { rest: true }),
    revoke: cmd("revoke", "Take capabilities back from a peer. Example: claudemesh revoke bob broadcast", { ...peerArg, ...capsArg, ...common }, () => import("./commands/grants.ts").then((m) => ({ run: m.revoke })), { rest: true }),
    block: cmd("block", "Block a peer entirely (undo: claudemesh grant <peer> all). Example: claudemesh block mallory", { ...peerArg, ...common }, () => import("./commands/grants.ts").then((m) => ({ run: m.block }))),
    grants: cmd("grants", "List what you allow each peer. Example: claudemesh grants --json", common, () => import("./commands/grants.ts").then((m) => ({ run: m.list }))),
    kick: cmd("kick", "Remove a member and revoke the invite it joined through (owner or admin); the owner's kick also rotates the mesh key, an admin's leaves that to the owner's `claudemesh rekey` (the owner's `claudemesh doctor` says when one is due). Example: claudemesh kick mallory", { ...peerArg, ...reasonArg, ...common }, () => import("./commands/moderate.ts").then((m) => ({ run: m.kick }))),
    ban: cmd("ban", "Like kick, and the member is recorded as banned (its key, and the invite it joined through, are closed either way). Example: claudemesh ban mallory --reason spam", { ...peerArg, ...reasonArg, ...common }, () => import("./commands/moderate.ts").then((m) => ({ run: m.ban }))),
    rekey: cmd("rekey", "Rotate the mesh key and send it to every member (owner). Example: claudemesh rekey", common, () => import("./commands/moderate.ts").then((m) => ({ run: m.rekey }))),
    audit,
    admin,
    dashboard: cmd("dashboard", "Serve the mesh dashboard from this machine and open it in your browser with a one-time login, until Ctrl-C. Example: claudemesh dashboard --mesh my-team", { "no-open": { type: "boolean", description: "print the link instead of opening it" }, port: { type: "string", description: "serve the page on this port of 127.0.0.1 (default: any free port)" }, ...common }, () => import("./commands/dashboard.ts")),
    backup: cmd("backup", "Encrypt your config and keys with a passphrase. Example: claudemesh backup ~/claudemesh.cmbk", { ...pos("file", "output file (default ./claudemesh-backup.cmbk)", false), "passphrase-stdin": { type: "boolean", description: "read the passphrase from stdin" }, force: { type: "boolean", description: "overwrite an existing file" }, ...json }, () => import("./commands/backup.ts").then((m) => ({ run: m.backup }))),
    restore: cmd("restore", "Restore config and keys from a backup. Example: claudemesh restore ~/claudemesh.cmbk", { ...pos("file", "backup file"), "passphrase-stdin": { type: "boolean", description: "read the passphrase from stdin" }, force: { type: "boolean", description: "replace an existing config" }, ...json }, () => import("./commands/backup.ts").then((m) => ({ run: m.restore }))),
    mcp: cmd("mcp", "Run the MCP server for Claude Code over stdio (Claude Code starts it). Example: claude mcp add --scope user claudemesh -- claudemesh mcp", { label: { type: "string", description: "session label shown to peers (default: project directory)" } }, () => import("./commands/mcp.ts")),
    hook: cmd("hook", "Handle a Claude Code hook event (install registers them). Example: claudemesh hook stop", { event: choiceArg("positional", HOOK_EVENTS, "", { required: true }) }, () => import("./commands/hook.ts")),
    install: cmd("install", "Register the MCP server and hooks with Claude Code for your user. Example: claudemesh install --label backend", { label: { type: "string", description: "session label shown to peers (default: project directory)" }, ...json }, () => import("./commands/install.ts").then((m) => ({ run: m.install }))),
    uninstall: cmd("uninstall", "Remove exactly what install added to Claude Code. Example: claudemesh uninstall", json, () => import("./commands/install.ts").then((m) => ({ run: m.uninstall }))),
    doctor: cmd("doctor", "Check binary, config, keys, brokers, MCP registration and hooks; print fixes. Example: claudemesh doctor", json, () => import("./commands/doctor.ts")),
    upgrade: cmd("upgrade", "Replace this binary (installed by install.sh) with the latest release, or --version X, verified against the release's SHA256SUMS first; keeps the old one for --rollback. Homebrew installs: brew upgrade claudemesh. Example: claudemesh upgrade --check", { version: { type: "string", description: "install this release (1.2.3) instead of the latest; older ones too" }, check: { type: "boolean", description: "only say whether a newer release exists (exit 0: up to date, 10: one exists); changes nothing" }, rollback: { type: "boolean", description: "put back the binary the last upgrade (or rollback) replaced, kept as claudemesh.prev" }, ...json }, () => import("./commands/upgrade.ts")),
    version: cmd("version", "Print this binary's version; --json adds its commit (release builds), Bun's version and the broker database's schema version. Example: claudemesh version --json", json, () => import("./commands/version.ts")),
    // runCli answers `help` itself (the words after it name a command, not arguments); this entry
    // puts it in --help, "did you mean" and the completions like any command.
    help: defineCommand({ meta: { name: "help", description: "Show a command's help, as `<command> --help` does. Example: claudemesh help topic post" }, args: pos("command", "command words (none: every command)", false) }),
    completion: cmd("completion", "Print a shell completion script. Example: claudemesh completion zsh > ~/.zfunc/_claudemesh", { shell: choiceArg("positional", SHELLS, "", { required: true }) }, () => import("./commands/completion.ts")),
  },
});

/** Sub-command names, for completions. */
export const COMMANDS = Object.keys(main.subCommands as object);

/** Second-level names of the commands that have them (topic, group, invite, audit, admin), for completions. */
export const SUBCOMMANDS: Record<string, string[]> = Object.fromEntries(
  Object.entries(main.subCommands as Record<string, { subCommands?: object }>)
    .filter(([, c]) => c.subCommands)
    .map(([name, c]) => [name, Object.keys(c.subCommands!)]),
);

/** The whole tree, for the completion scripts (src/cli/completion/ reads its args, never its modules). */
export const COMMAND_TREE: CommandDef = main;

/** `claudemesh help [command…]`, and `claudemesh <command…> --help`: that command's --help
 *  (citty's, as fast: no module loaded). A word that names no command is the usage error
 *  `claudemesh <words>` would get (citty printed the parent's help for `sned --help`, exit 0). */
async function help(words: string[]): Promise<void> {
  const { path, cmd, words: rest } = commandAt(main, words);
  // Option values (`invite --max-uses 3 --help`) are no command words.
  const stray = Object.keys(cmd.subCommands ?? {}).length > 0 && splitWords(rest, (cmd.args ?? {}) as ArgsDef).positionals.some((w) => !w.startsWith("-"));
  if (stray) throw Object.assign(new Error("Unknown command"), { name: "CLIError", code: "E_UNKNOWN_COMMAND" });
  await runMain(main, { rawArgs: [...path, "--help"], showUsage: printUsage });
}

/** The command words `help` was given: `help send --help` asks what `help send` does, and `help
 *  --help` about help itself. */
function helpWords(rest: string[]): string[] {
  const words = rest.filter((w) => w !== "--help" && w !== "-h");
  return words.length === 0 && rest.length > 0 ? ["help"] : words;
}

export async function runCli(argv: string[]): Promise<void> {
  if (argv.length === 1 && ["--version", "-v", "-V"].includes(argv[0]!)) {
    await writeStdout(`claudemesh ${VERSION}\n`);
    return exitFlushed(0);
  }
  if (argv.length === 0) return runMain(main, { rawArgs: ["--help"], showUsage: printUsage });
  // After "--" every word is text: `send bob -- -h` sends "-h".
  const end = argv.indexOf("--");
  const options = end < 0 ? argv : argv.slice(0, end);
  const isHelp = (a: string) => a === "--help" || a === "-h";
  // `help send` and `send --help` ask the same; their errors name the command words.
  const helpFor = argv[0] === "help" ? helpWords(argv.slice(1)) : options.some(isHelp) ? options.filter((a) => !isHelp(a)) : null;
  // Everything else we run ourselves so that a usage error (a missing argument, an unknown
  // command) exits 2, and with --json prints JSON.
  try {
    if (helpFor) return await help(helpFor);
    // citty would skip an option before the command (`claudemesh --jsno send …` sent); claudemesh
    // itself has none but --help and --version.
    if (argv[0]!.startsWith("-") && argv[0] !== "--") throw new FlagError(`Unknown option ${argv[0]}`, argv[0]!);
    await runCommand(main, { rawArgs: argv });
  } catch (err) {
    if ((err as Error)?.name !== "CLIError") throw err;
    const { message, fix } = usageMessage(err as Error, helpFor ?? argv, main);
    await exitFlushed(reportError(new UsageError(message, { fix }), options.includes("--json") || options.includes("--json=true")));
  }
}
