// The admin commands read the broker's settings with serve's own code (src/cli/admin-config.ts;
// docs/operations.md "Settings", "Backups and restore"), and say what they act on as serve would
// run it (session 19's operator review): a config file's dataDir that CLAUDEMESH_DATA_DIR or
// --data-dir replaces is named, as serve names it (no other setting: admin uses none); a relative --data-dir is printed absolute;
// `admin restore`'s closing line is a command that starts the same broker (the config file, the
// settings given by flag or variable, shell quoting) and, run as root on the service user's data
// directory, one run as that user, since serve refuses to run there as root.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { admin, dataDirWithDatabase } from "../helpers/admin.ts";
import { serviceDir, SERVICE_UID } from "../helpers/service-user.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const files = tempDir("cm-admin-config-files-");

/** A JSON config file naming `dataDir`. */
function configFile(name: string, dataDir: string): string {
  const path = join(files, name);
  writeFileSync(path, JSON.stringify({ dataDir }));
  return path;
}

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);

describe("admin commands find the data directory as serve does, and say when the config file's is not the one", () => {
  const [fromFile, fromEnv, fromFlag] = ["file", "env", "flag"].map((w) => join(tempDir(`cm-admin-config-${w}-`), "data"));
  const file = configFile("broker.json", fromFile!);
  const nothingAt = (dir: string) => `claudemesh: No broker database at ${dir}/claudemesh.db. Pass the data directory your broker uses: --data-dir, CLAUDEMESH_DATA_DIR or the config file's dataDir.\n`;
  const ignored = (by: string, dir: string) => `claudemesh: warning: dataDir ${JSON.stringify(fromFile)} in ${file} is ignored: ${by} gives ${JSON.stringify(dir)}, and ${by.startsWith("--") ? "a flag" : "the environment"} beats the config file.\n`;

  test.each([
    ["the config file alone", [], {}, nothingAt(fromFile!)],
    ["CLAUDEMESH_DATA_DIR over the file", [], { CLAUDEMESH_DATA_DIR: fromEnv! }, ignored("CLAUDEMESH_DATA_DIR", fromEnv!) + nothingAt(fromEnv!)],
    ["--data-dir over both", ["--data-dir", fromFlag!], { CLAUDEMESH_DATA_DIR: fromEnv! }, ignored("--data-dir", fromFlag!) + nothingAt(fromFlag!)],
  ])("%s", async (_, args, env, stderr) => {
    const r = await admin(["token", "--config", file, ...args], { env });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 4, stderr });
  }, 30_000);

  // Only the data directory: a port the file gives and CLAUDEMESH_PORT replaces is none of an admin
  // command's business, and warning of it said the command used a port it never does.
  test("a variable over another of the file's settings: no warning", async () => {
    const withPort = join(files, "with-port.json");
    writeFileSync(withPort, JSON.stringify({ dataDir: fromFile, port: 7901 }));
    const r = await admin(["token", "--config", withPort], { env: { CLAUDEMESH_PORT: "7902" } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 4, stderr: nothingAt(fromFile!) });
  }, 30_000);
});

describe("what the admin commands print", () => {
  test("admin token names a relative --data-dir absolute; restore closes with a serve line for the same broker", async () => {
    const dataDir = await dataDirWithDatabase();
    const token = await admin(["token", "--data-dir", relative(process.cwd(), dataDir)]);
    expect({ code: token.code, line: token.stdout.split("\n")[2] }).toEqual({ code: 0, line: `New operator token for the broker in ${dataDir}; the previous one no longer works.` });

    const backup = join(dataDir, "claudemesh.db");
    const spaced = join(tempDir("cm-admin-config-"), "broker data");
    const byFlag = await admin(["restore", backup, "--data-dir", spaced], { env: { CLAUDEMESH_PORT: "7911" } });
    expect({ code: byFlag.code, last: lastLine(byFlag.stdout) }).toEqual({ code: 0, last: `Start the broker again (claudemesh serve --port 7911 --data-dir '${spaced}', or systemctl start claudemesh).` });
    const file = configFile("restore.json", join(tempDir("cm-admin-config-"), "data"));
    const byFile = await admin(["restore", backup, "--config", relative(process.cwd(), file)]);
    expect({ code: byFile.code, last: lastLine(byFile.stdout) }).toEqual({ code: 0, last: `Start the broker again (claudemesh serve --config ${file}, or systemctl start claudemesh).` });
  }, 60_000);

  test.skipIf(process.getuid?.() !== 0)("restore as root on the service user's data directory says to start the broker as that user", async () => {
    const source = await dataDirWithDatabase();
    const { dataDir } = serviceDir();
    const r = await admin(["restore", join(source, "claudemesh.db"), "--data-dir", dataDir]);
    expect({ code: r.code, last: lastLine(r.stdout) }).toEqual({ code: 0, last: `Start the broker again (sudo -u '#${SERVICE_UID}' claudemesh serve --data-dir ${dataDir}, or systemctl start claudemesh).` });
  }, 60_000);
});
