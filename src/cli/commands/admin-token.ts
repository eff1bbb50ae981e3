// claudemesh admin token: a new operator token for the dashboard's broker-wide views, written to
// the data directory's database (the old token and its dashboard sessions stop working). Works
// while the broker runs. The token is printed once; only its SHA-256 is stored.
import { adminBroker, type AdminArgs } from "../admin-config.ts";
import { command } from "../context.ts";

export async function run(args: AdminArgs & { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const { config } = adminBroker(args, ctx.out);
    const { rotateOperatorToken } = await import("../../broker/server.ts");
    const operatorToken = await rotateOperatorToken(config);
    // `operatorToken`, as `admin restore --json` names the token it issues.
    ctx.out.result({ operatorToken, dataDir: config.dataDir }, () =>
      [operatorToken, "", `New operator token for the broker in ${config.dataDir}; the previous one no longer works.`, "Paste it into the dashboard's Operator tab. It is shown only now."].join("\n"),
    );
  });
}
