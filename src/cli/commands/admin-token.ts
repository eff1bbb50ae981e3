// claudemesh admin token: a new operator token for the dashboard's broker-wide views, written to
// the data directory's database (the old token and its dashboard sessions stop working). Works
// while the broker runs. The token is printed once; only its SHA-256 is stored.
import { adminBrokerConfig, type AdminArgs } from "../admin-config.ts";
import { command } from "../context.ts";

export async function run(args: AdminArgs & { json?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const config = adminBrokerConfig(args);
    const { rotateOperatorToken } = await import("../../broker/server.ts");
    const token = await rotateOperatorToken(config);
    ctx.out.result({ token, dataDir: config.dataDir }, () =>
      [token, "", `New operator token for the broker in ${config.dataDir}; the previous one no longer works.`, "Paste it into the dashboard's Operator tab. It is shown only now."].join("\n"),
    );
  });
}
