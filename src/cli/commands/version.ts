// claudemesh version [--json]: what `--version` prints; --json adds what a bug report needs: the
// commit of a release build (null from source), Bun's version and the database schema version.
import { COMMIT, VERSION } from "../../version.ts";
import { command } from "../context.ts";

export async function run(args: { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const { SCHEMA_VERSION } = await import("../../broker/schema-version.ts");
    ctx.out.result({ version: VERSION, commit: COMMIT, bun: Bun.version, schemaVersion: SCHEMA_VERSION }, () => `claudemesh ${VERSION}`);
  });
}
